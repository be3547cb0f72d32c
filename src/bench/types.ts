import type { TransportKind } from '../transport/index.js';

export type BenchMode = 'max' | 'paced';

/** One measured run, by the Node writer (the addon) or by the plain-C baseline. */
export interface RunResult {
  transport: TransportKind;
  chunkBytes: number;
  mode: BenchMode;
  /** Payload bytes the sink verified (record headers not counted). */
  bytes: number;
  chunks: number;
  /** From the first write until the sink had read the end-of-stream record and exited. */
  seconds: number;
  bytesPerSecond: number;
  latencyP50Us: number;
  latencyP99Us: number;
  /** Sequence and CRC-32C of every record checked by the sink, counts equal to what was written. */
  verified: boolean;
  /** Why not verified (the sink's error, a count mismatch). */
  problem?: string;
  /** Chunks per native call (Node) or per writev/slot fill (C). */
  batch: number;
  /** msg: the kernel limits and the queue size in force. */
  kernel?: { msgmax: number; msgmnb: number; msgQbytes: number };
}

/** A row of `--json`: the Node run with its baseline beside it. */
export interface BenchRow {
  transport: TransportKind;
  chunkBytes: number;
  mode: BenchMode;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
  chunksPerSecond: number;
  baselineBytesPerSecond: number;
  ratioToBaseline: number;
  latencyP50Us: number;
  latencyP99Us: number;
  baselineLatencyP50Us: number;
  baselineLatencyP99Us: number;
  verified: boolean;
  batch: number;
  /** Runs per writer (the median is shown), when more than one. */
  repeat?: number;
}

export interface BenchReport {
  memcpyBytesPerSecond: number;
  results: BenchRow[];
  date: string;
  machine: { nproc: number; cpu: string; kernel: string; node: string };
  /** msg limits in force during the run (sysctls, and the queue's msg_qbytes). */
  msgLimits?: { msgmax: number; msgmnb: number; msgQbytes: number };
  options: { transports: TransportKind[]; sizes: number[]; seconds: number; rateBitsPerSecond: number; repeat?: number };
  /** Runs that did not verify (the command then exits 1). */
  failures?: string[];
}

export interface BenchOptions {
  transports: TransportKind[];
  sizes: number[];
  seconds: number;
  /** Paced runs, bits per second. */
  rate: number;
  /** Runs per writer and case, alternating Node and C; the median is reported (default 1). */
  repeat?: number;
  /** Progress lines (stderr by default). */
  progress?: (text: string, final: boolean) => void;
  /** Aborts the run (Ctrl-C). */
  signal?: AbortSignal;
}
