/**
 * The transport area's public types: what startTransportChild (child.ts) is given and gives
 * back. A TransportChild writes chunks into a pipe, shm ring or message queue with
 * backpressure; the child on the other side (ipcast-sink, or the decoder on a raw pipe)
 * reports on fd 3 (report.ts).
 */
import type { Readable } from 'node:stream';

import type { NativeIpcInfo, NativeIpcWriter } from '../shared/native.js';
import type { SinkReport } from './report.js';
import type { TransportKind } from './stats.js';

export interface HandOffMeta {
  /** The sender's timestamp (µs since the epoch) for end-to-end latency; omit when unknown. */
  senderTimestampUs?: number;
}

export interface TransportExit {
  code: number | null;
  signal: string | null;
  /** The sink's final report (undefined for an external decoder on a pipe, or if it died). */
  report?: SinkReport;
}

/** The writer's own figures (the engine's counters), read by stats(). */
export interface WriterStats {
  records: number;
  bytes: number;
  /** Times the writer found the transport full and waited off the main thread. */
  waits: number;
  waitSeconds: number;
}

export interface TransportChild {
  readonly kind: TransportKind;
  readonly pid: number | undefined;
  /** What was created: ids, fds, pipe capacity, ring geometry, msg limits. */
  readonly info: Readonly<NativeIpcInfo>;
  /** The child's stdout when started with stdout: 'pipe'. */
  readonly stdout: Readable | null;
  /** true when ipcast-sink reads the transport and reports (progress, report); false when the
   *  decoder reads the pipe itself (pipe + decoder): nothing is verified or timed then. */
  readonly sink: boolean;
  /** Resolves when the data is accepted (backpressure). Rejects with a RuntimeError
   *  (ERR_TRANSPORT_CHILD_EXITED, ERR_TRANSPORT_CLOSED, ERR_TRANSPORT_IO) when it cannot be. */
  write(payload: Buffer, meta?: HandOffMeta): Promise<void>;
  /** Several chunks in one native call (one record each). */
  writeBatch(payloads: Buffer[], metas?: (HandOffMeta | undefined)[]): Promise<void>;
  /** true when the transport can take more right now without waiting. */
  readonly writable: boolean;
  /** End of stream: the child sees EOS (record, or EOF for a raw pipe); waits for it to exit. */
  end(): Promise<void>;
  /** Abort: kill the child, remove the System V objects. Idempotent. */
  close(): Promise<void>;
  readonly exited: Promise<TransportExit>;
  stats(): WriterStats;
  /** The engine writer itself, for the native relay path, which writes from its own thread
   *  (native/relay): while it holds it, write() here fails with ERR_LENT. */
  readonly nativeWriter: NativeIpcWriter;
  on(event: 'progress', fn: (r: SinkReport) => void): this;
  on(event: 'report', fn: (r: SinkReport) => void): this;
}

export interface TransportOptions {
  /** External decoder argv; undefined = the sink verifies and discards. */
  decoder?: string[];
  /** Where the child's (or decoder's) stdout goes. Default 'inherit'. */
  stdout?: 'inherit' | 'pipe' | 'ignore';
  /** The child's (sink's and decoder's) stderr, line by line, instead of inherited: a live
   *  terminal view prints them above itself. */
  stderrLines?: (line: string) => void;
  /** shm ring geometry (defaults 64 slots x 64 KiB). */
  slots?: number;
  slotBytes?: number;
  /** Pipe capacity to ask for with F_SETPIPE_SZ (default 1 MiB, the unprivileged maximum). */
  pipeBytes?: number;
  /** Message body size (default and maximum: msgmax, capped at msg_qbytes). */
  msgBytes?: number;
  /** The wait policy (µs, 0..10000): how long a write retries a full transport on the main thread,
   *  as long as the reader makes room, before the writer's own thread waits. Default
   *  defaultWriteSpinUs(). The engine turns it off on a process limited to one CPU. */
  writeSpinUs?: number;
  /** Test option: the sink sleeps this long after every record (a slow reader). */
  slowUs?: number;
  /** Sink progress report period (default 250 ms). */
  reportMs?: number;
  /** How long end() waits for the child to exit before killing it (default 30 s). */
  endTimeoutMs?: number;
  /** How long to wait for the sink's ready line (default 10 s). */
  readyTimeoutMs?: number;
}
