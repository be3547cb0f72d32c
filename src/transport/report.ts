/**
 * What ipcast-sink reports on fd 3: one JSON object per line (see docs/transports.md).
 */
import { LineSplitter } from './line-splitter.js';

export interface LatencyReport {
  count: number;
  sumUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Cumulative counts per bucket of `bucketBoundsUs`, plus a last +Inf bucket. */
  buckets: number[];
}

export interface SinkReport {
  type: 'ready' | 'progress' | 'final';
  transport: 'pipe' | 'shm' | 'msg';
  pid: number;
  elapsedMs: number;
  bytes: number;
  chunks: number;
  gaps: number;
  reorders: number;
  checksumErrors: number;
  corrupt: number;
  eos: boolean;
  handoff?: LatencyReport;
  endToEnd?: LatencyReport;
  bucketBoundsUs?: number[];
  kernel?: { msgmax: number; msgmnb: number; msgQbytes: number };
  ring?: { slots: number; slotBytes: number };
  pipe?: { capacity: number };
  decoder?: { pid: number; exitCode: number | null; signal: number | null; epipe: number };
  /** final only: the sink's own CPU time, user + system seconds (getrusage RUSAGE_SELF). */
  cpuSeconds?: number;
  /** final only */
  exitCode?: number;
  error?: string;
}

/**
 * The sink's exit codes: mirrors native/engine/exit_codes.h (IPCAST_EXIT_*), the one table of
 * the engine's programs; what each means for the sink is in docs/transports.md.
 */
export const SINK_EXIT = {
  ok: 0, // IPCAST_EXIT_OK
  runtime: 1, // IPCAST_EXIT_RUNTIME
  usage: 2, // IPCAST_EXIT_USAGE
  verifyFailed: 3, // IPCAST_EXIT_VERIFY
  decoderFailed: 4, // IPCAST_EXIT_DECODER
  noEndOfStream: 5, // IPCAST_EXIT_STOPPED: stopped before end of stream
  parentDied: 6, // IPCAST_EXIT_PARENT_DIED
} as const;

/** Splits a byte stream into JSON lines; malformed lines are passed to onBad, never thrown. */
export class ReportLineParser {
  private readonly lines: LineSplitter;
  constructor(
    private readonly onReport: (r: SinkReport) => void,
    private readonly onBad: (line: string) => void = () => {},
  ) {
    // A runaway line is cut (and then fails to parse), not buffered forever.
    this.lines = new LineSplitter((line) => this.line(line), 65536);
  }

  push(chunk: Buffer | string): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    if (!line.trim()) return;
    try {
      const obj = JSON.parse(line) as SinkReport;
      if (obj && typeof obj === 'object' && typeof obj.type === 'string') this.onReport(obj);
      else this.onBad(line);
    } catch {
      this.onBad(line);
    }
  }
}
