/**
 * What the sender needs of an output. Each output takes whole chunks (one chunk = one
 * datagram over UDP, one frame over TCP) and never throws on send: failures are counted
 * in its stats and the stream goes on.
 */
import type { OutputStats } from '../stats.js';

export interface Output {
  readonly stats: OutputStats;
  /** Binds / listens. Throws UsageError or RuntimeError with one readable line. */
  open(): Promise<void>;
  /** Hands one chunk to the socket(s). `guide` only marks it for counting. */
  send(buf: Buffer, guide?: boolean): void;
  /**
   * null when the output can take another chunk now; otherwise a promise that resolves when
   * it can. Keeps memory bounded when the stream is not paced (--rate max).
   */
  ready(): Promise<void> | null;
  /** Sends `final` (the end-of-stream chunks; empty in raw mode), then closes. Never throws. */
  close(final: Buffer[]): Promise<void>;
}
