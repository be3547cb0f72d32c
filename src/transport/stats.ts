/**
 * The transport area's kinds and figures: what one transport (pipe, shm ring, message queue)
 * handed off, waited, dropped, and what its sink read and timed. Plain numbers, written by the
 * code that does the work and read by the metrics area, the dashboard and the demo's table.
 * Nothing here does I/O; every field is a running total unless marked point-in-time.
 */

export type TransportKind = 'pipe' | 'shm' | 'msg';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['pipe', 'shm', 'msg'];

/** Latency bucket upper bounds in microseconds, shared by the sink's reports and the metrics. */
export const LATENCY_BUCKETS_US: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
];

/**
 * A latency histogram, the one representation from the sink's report (fd 3, `buckets`) to the
 * Prometheus export: cumulative[i] = samples <= bucketsUs[i]; the last entry, one past the
 * largest bound, is every sample (+Inf) and equals count.
 */
export interface LatencyHistogram {
  bucketsUs: readonly number[];
  /** Length bucketsUs.length + 1, never decreasing. */
  cumulative: number[];
  count: number;
  sumUs: number;
  p50Us: number;
  p99Us: number;
}

export function emptyHistogram(): LatencyHistogram {
  return { bucketsUs: LATENCY_BUCKETS_US, cumulative: new Array(LATENCY_BUCKETS_US.length + 1).fill(0), count: 0, sumUs: 0, p50Us: 0, p99Us: 0 };
}

/** Adds n samples of valueUs (tests, synthetic figures; the sink counts in C). */
export function observeLatency(h: LatencyHistogram, valueUs: number, n = 1): void {
  for (let i = 0; i < h.cumulative.length; i++) if (i === h.bucketsUs.length || valueUs <= h.bucketsUs[i]!) h.cumulative[i]! += n;
  h.count += n;
  h.sumUs += n * valueUs;
}

/**
 * What the writer side counts. One owner: the ChildFeeder (src/receiver/child-feeder.ts) on
 * the JS path, the native relay (copied by NativePath.sync, src/receiver/native-path.ts) on
 * the native one.
 */
export interface HandOffFigures {
  /** Chunks and payload bytes the receiver handed to the transport. */
  chunksHandedOff: number;
  bytesHandedOff: number;
  /** Seconds the writer spent waiting on a full ring / queue / pipe. */
  waitSeconds: number;
  /** Chunks dropped because the child fell behind (drop-oldest policy). */
  droppedSlowChild: number;
  /** Errors handing off (EPIPE, child died mid-write). */
  handOffErrors: number;
  /** Point-in-time: chunks and bytes waiting in the per-child buffer. */
  bufferDepth: number;
  bufferBytes: number;
}

/** The child's life. Owner: the ChildFeeder. */
export interface ChildFigures {
  /** Decoder (or sink) restarts after it exited while the stream went on. */
  restarts: number;
  /** Point-in-time: is a child running now. */
  up: boolean;
}

/** What the child side read and timed, as the sink reports it (fd 3). Owner: the decoder child (src/receiver/decoder-child.ts). */
export interface SinkFigures {
  /** Is ipcast-sink the child, reporting what it read? false when the decoder reads the pipe
   *  itself (pipe + --exec): then the sink* figures and both latencies are not measured (they
   *  stay 0 here; the summary, metrics and dashboard say so or leave them out). */
  sink: boolean;
  sinkChunks: number;
  sinkBytes: number;
  sinkGaps: number;
  sinkChecksumErrors: number;
  /** Receiver hand-off -> child read, and sender timestamp -> child read. */
  handOffLatency: LatencyHistogram;
  endToEndLatency: LatencyHistogram;
}

/** One transport's figures as their readers (metrics, dashboard, summary) see them. */
export interface TransportStats extends HandOffFigures, ChildFigures, SinkFigures {
  transport: TransportKind;
}

/** The parts of one transport's figures, each written by its one owner. */
export interface TransportParts {
  handOff: HandOffFigures;
  child: ChildFigures;
  sink: SinkFigures;
}

export function emptyTransportParts(): TransportParts {
  return {
    handOff: { chunksHandedOff: 0, bytesHandedOff: 0, waitSeconds: 0, droppedSlowChild: 0, handOffErrors: 0, bufferDepth: 0, bufferBytes: 0 },
    child: { restarts: 0, up: false },
    sink: { sink: true, sinkChunks: 0, sinkBytes: 0, sinkGaps: 0, sinkChecksumErrors: 0, handOffLatency: emptyHistogram(), endToEndLatency: emptyHistogram() },
  };
}

/** A plain TransportStats (tests, synthetic figures): one object serves as every part. */
export function emptyTransportStats(transport: TransportKind): TransportStats {
  const p = emptyTransportParts();
  return { transport, ...p.handOff, ...p.child, ...p.sink };
}

/** The readers' view of the parts: every field a getter on its owner's part, merged when read. */
export function transportView(transport: TransportKind, parts: TransportParts): Readonly<TransportStats> {
  const view = { transport } as TransportStats;
  for (const part of [parts.handOff, parts.child, parts.sink]) {
    for (const key of Object.keys(part)) Object.defineProperty(view, key, { enumerable: true, get: () => part[key as keyof typeof part] });
  }
  return view;
}
