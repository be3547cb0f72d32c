import type { TransportKind } from '../transport/index.js';
import type { BaselineRunOptions } from './baseline.js';
import type { NodeRunOptions } from './node-run.js';

export type BenchMode = 'max' | 'paced';

/** One run's case, the same for the Node and the plain-C writer. */
export interface RunCase {
  transport: TransportKind;
  chunkBytes: number;
  mode: BenchMode;
  seconds: number;
  /** bits per second, paced mode */
  rate: number;
  /** The writer's wait policy (µs); default defaultWriteSpinUs() (src/transport/child.ts). */
  spinUs?: number;
}

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
  /** Chunks per engine write call at full speed (paced: 1, more after a late timer). */
  batch: number;
  /** The spin in force, as the writer itself reports it (µs; the engine makes it 0 on one CPU). */
  spinUs: number;
  /** The writer process's CPU time (user + system, all its threads) from before it opened the
   *  transport until the sink had exited; NaN when unknown. */
  writerCpuSeconds: number;
  /** The sink's own CPU time (user + system), from its final report; NaN when unknown. */
  readerCpuSeconds: number;
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
  /** The spin both writers ran with (µs). */
  spinUs: number;
  /** CPU seconds (user + system) of the writer and of the sink, Node run and plain-C run. */
  writerCpuSeconds: number;
  readerCpuSeconds: number;
  baselineWriterCpuSeconds: number;
  baselineReaderCpuSeconds: number;
  /** Payload bytes per CPU-second of writer and reader together: what the throughput costs. */
  bytesPerCpuSecond: number;
  baselineBytesPerCpuSecond: number;
  /** ratioToBaseline > SUSPECT_RATIO: Node cannot beat the same engine driven from C, so the two
   *  writers differ somewhere (or the machine's load changed between the runs). */
  suspect: boolean;
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
  options: { transports: TransportKind[]; sizes: number[]; seconds: number; rateBitsPerSecond: number; repeat?: number; spinUs?: number };
  /** Runs that did not verify (the command then exits 1). */
  failures?: string[];
}

export interface BenchOptions {
  transports: TransportKind[];
  sizes: number[];
  seconds: number;
  /** Paced runs, bits per second. */
  rate: number;
  /** Runs per writer and case; the median is reported (default 1). Which of Node and C goes
   *  first alternates run by run, across cases too. */
  repeat?: number;
  /** The wait policy of both writers (µs; default defaultWriteSpinUs(), src/transport/child.ts). */
  spinUs?: number;
  /** Progress lines (stderr by default). */
  progress?: (text: string, final: boolean) => void;
  /** Aborts the run (Ctrl-C). */
  signal?: AbortSignal;
  /** The measurements themselves; tests inject fakes (default: the real runs, src/bench/node-run.ts
   *  and src/bench/baseline.ts). */
  runners?: Partial<BenchRunners>;
}

/** One Node run, one plain-C run, the memcpy reference. */
export interface BenchRunners {
  node(o: NodeRunOptions): Promise<RunResult>;
  baseline(o: BaselineRunOptions, signal?: AbortSignal): Promise<RunResult>;
  memcpy(seconds: number, signal?: AbortSignal): Promise<number>;
}
