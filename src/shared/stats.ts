/**
 * The receiver's live figures, kept as plain numbers by the code that does the work and read
 * by the metrics layer (prom-client collect()), the dashboard and the demo's table. Nothing
 * here does I/O; every field is a running total unless marked point-in-time.
 */
import type { DecodeReason } from './protocol.js';
import type { ChannelInfo } from './guide.js';
import type { LinkStats } from './link-stats.js';

export type TransportKind = 'pipe' | 'shm' | 'msg';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['pipe', 'shm', 'msg'];

/** Latency bucket upper bounds in microseconds, shared by the sink's reports and the metrics. */
export const LATENCY_BUCKETS_US: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
];

/** A histogram as the sink reports it: counts[i] = samples <= bucketsUs[i] (not cumulative), plus the overflow. */
export interface LatencyHistogram {
  bucketsUs: readonly number[];
  /** counts per bucket, length bucketsUs.length + 1 (the last is > the largest bound). Not cumulative. */
  counts: number[];
  count: number;
  sumUs: number;
  p50Us: number;
  p99Us: number;
}

export function emptyHistogram(): LatencyHistogram {
  return { bucketsUs: LATENCY_BUCKETS_US, counts: new Array(LATENCY_BUCKETS_US.length + 1).fill(0), count: 0, sumUs: 0, p50Us: 0, p99Us: 0 };
}

export interface TransportStats {
  transport: TransportKind;
  /** Chunks and payload bytes the receiver handed to the transport. */
  chunksHandedOff: number;
  bytesHandedOff: number;
  /** Seconds the writer spent waiting on a full ring / queue / pipe. */
  waitSeconds: number;
  /** Chunks dropped because the child fell behind (drop-oldest policy). */
  droppedSlowChild: number;
  /** Decoder (or sink) restarts after it exited while the stream went on. */
  restarts: number;
  /** Errors handing off (EPIPE, child died mid-write). */
  handOffErrors: number;
  /** Point-in-time: chunks and bytes waiting in the per-child buffer. */
  bufferDepth: number;
  bufferBytes: number;
  /** Is ipcast-sink the child, reporting what it read? false when the decoder reads the pipe
   *  itself (pipe + --exec): then the sink* figures and both latencies are not measured (they
   *  stay 0 here; the summary, metrics and dashboard say so or leave them out). */
  sink: boolean;
  /** As the sink reports it (fd 3): what the child side actually read and verified. */
  sinkChunks: number;
  sinkBytes: number;
  sinkGaps: number;
  sinkChecksumErrors: number;
  /** Receiver hand-off -> child read, and sender timestamp -> child read. */
  handOffLatency: LatencyHistogram;
  endToEndLatency: LatencyHistogram;
  /** Point-in-time: is a child running now. */
  up: boolean;
}

export function emptyTransportStats(transport: TransportKind): TransportStats {
  return {
    transport,
    chunksHandedOff: 0,
    bytesHandedOff: 0,
    waitSeconds: 0,
    droppedSlowChild: 0,
    restarts: 0,
    handOffErrors: 0,
    bufferDepth: 0,
    bufferBytes: 0,
    sink: true,
    sinkChunks: 0,
    sinkBytes: 0,
    sinkGaps: 0,
    sinkChecksumErrors: 0,
    handOffLatency: emptyHistogram(),
    endToEndLatency: emptyHistogram(),
    up: false,
  };
}

export interface ReceiverStats {
  /** Datagrams or TCP chunks that arrived, and their bytes (before validation). */
  chunksReceived: number;
  bytesReceived: number;
  /** Rejected by the decoder, by reason. */
  decodeErrors: Partial<Record<DecodeReason, number>>;
  /** Sequence accounting on the selected channel. */
  lost: number;
  reordered: number;
  duplicates: number;
  /** Chunks on other channels than the selected one (ignored, not errors). */
  otherChannel: number;
  /** Point-in-time: the kernel's drop counter for the UDP socket (/proc/net/udp), if known. */
  kernelDrops: number;
  /** TCP reconnects after the sender went away. */
  reconnects: number;
  /** The channel being played, and the latest guide. */
  channel: number;
  guide: ChannelInfo[];
  endOfStream: boolean;
  transports: Partial<Record<TransportKind, TransportStats>>;
  /** SRT and RIST inputs: the connection as the library counts it. */
  links?: LinkStats[];
  /** recv --flow ack: acknowledgements sent, and how many waited for a decoder to catch up. */
  flowAck?: { acked: number; heldBack: number };
}

export function emptyReceiverStats(): ReceiverStats {
  return {
    chunksReceived: 0,
    bytesReceived: 0,
    decodeErrors: {},
    lost: 0,
    reordered: 0,
    duplicates: 0,
    otherChannel: 0,
    kernelDrops: 0,
    reconnects: 0,
    channel: 0,
    guide: [],
    endOfStream: false,
    transports: {},
  };
}
