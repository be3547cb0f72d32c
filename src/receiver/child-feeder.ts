/**
 * One decoder child and the bounded buffer in front of it.
 *
 * The network side calls deliver() and never waits: chunks go into a per-child queue of at
 * most `maxBufferBytes`. A pump hands them to the transport in batches, waiting (off the main
 * thread, inside the transport) when the ring, queue or pipe is full. When the queue is full:
 *  - policy 'drop-oldest' (live streams, the default): the oldest queued chunks are dropped and
 *    counted (ipcast_transport_dropped_chunks_total{reason="slow_child"});
 *  - policy 'block': the input is paused (TCP stops reading, so the sender's server applies its
 *    own slow-client policy) until the queue is half empty. UDP cannot be paused: it drops.
 * A child that exits while the stream goes on is restarted with backoff, up to `maxRestarts`
 * in a row: one that ran for `healthyRunMs` before it exited starts the count (and the
 * backoff) over, so an occasional crash in a long stream never uses the budget up.
 */
import type { ChildFigures, HandOffFigures, TransportKind } from '../transport/stats.js';
import type { NativeIpcWriter } from '../shared/native.js';
import type { HandOffMeta } from '../transport/index.js';

export type { HandOffMeta };

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

/** What the feeder needs of a transport child (src/transport implements it). */
export interface FeedableChild {
  readonly kind: TransportKind;
  readonly pid: number | undefined;
  readonly writable: boolean;
  writeBatch(payloads: Buffer[], metas: HandOffMeta[]): Promise<void>;
  end(): Promise<unknown>;
  close(): Promise<void>;
  readonly exited: Promise<ChildExit>;
  /** Seconds this child's writer has waited on a full transport, as the native side measured it. */
  waitSeconds?(): number;
  /** The engine writer, for the native relay path (src/receiver/native-path.ts). */
  readonly nativeWriter?: NativeIpcWriter;
}

/**
 * The native relay path's side of one output (src/receiver/native-path.ts): the queue in
 * front of the child lives in C and the relay's thread writes it. The feeder then only
 * supervises the child: lends it the writer when the child is up, takes it back when it exits.
 */
export interface NativeOutput {
  attach(child: FeedableChild): void;
  /** Take the writer back; discard: the queue goes too (the feeder is closing or gave up). */
  detach(discard: boolean): void;
  /** Resolves when the stream has ended, the queue is empty and the writer is back. */
  drained(): Promise<void>;
}

export type SlowChildPolicy = 'drop-oldest' | 'block';

export interface ChildFeederOptions {
  kind: TransportKind;
  start(): Promise<FeedableChild>;
  /** Written here on the JS path only: on the native one the relay owns them (NativePath.sync). */
  handOff: HandOffFigures;
  child: ChildFigures;
  maxBufferBytes: number;
  policy: SlowChildPolicy;
  maxRestarts: number;
  /** A child that ran this long counts as recovered (default HEALTHY_RUN_MS). */
  healthyRunMs?: number;
  /** Called with true when the queue is full under 'block', false when it has room again. */
  backpressure(paused: boolean): void;
  log(message: string): void;
  /** The native relay path: chunks never pass through deliver(); see NativeOutput. */
  native?: NativeOutput;
}

const BATCH_CHUNKS = 64;
const BATCH_BYTES = 1 << 20;
const RESTART_BACKOFF_START_MS = 200;
const RESTART_BACKOFF_MAX_MS = 5000;
/** A decoder that ran this long before it exited had recovered: the restart count starts over. */
export const HEALTHY_RUN_MS = 30_000;

export class ChildFeeder {
  private readonly queue: Array<{ payload: Buffer; meta: HandOffMeta }> = [];
  private head = 0;
  private child: FeedableChild | undefined;
  /** A child whose hand-off failed: no more writes to it until its exit is handled. */
  private broken: FeedableChild | undefined;
  /** Restarts in a row of this feeder (see healthyRunMs); child.restarts counts over the whole run. */
  private restarts = 0;
  /** When the current child was started (performance.now()). */
  private startedAt = 0;
  /** waitSeconds of the children before this one (restarts keep the total). */
  private waitBase = 0;
  private pumping = false;
  private ending = false;
  private closed = false;
  private blocked = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = RESTART_BACKOFF_START_MS;
  private lastExit: ChildExit | undefined;
  private failed = false;
  private drainedWaiters: Array<() => void> = [];
  private exitWaiters: Array<(e: ChildExit) => void> = [];

  constructor(private readonly o: ChildFeederOptions) {}

  /** True once the child could not be (re)started any more. */
  get hasFailed(): boolean {
    return this.failed;
  }

  async start(): Promise<void> {
    await this.spawn();
  }

  deliver(payload: Buffer, meta: HandOffMeta): void {
    if (this.ending || this.closed || this.failed || this.o.native) return;
    const s = this.o.handOff;
    if (s.bufferBytes + payload.length > this.o.maxBufferBytes && this.queue.length > this.head) {
      if (this.o.policy === 'block') {
        if (!this.blocked) {
          this.blocked = true;
          this.o.backpressure(true);
        }
      } else {
        while (s.bufferBytes + payload.length > this.o.maxBufferBytes && this.queue.length > this.head) {
          const old = this.queue[this.head]!;
          this.queue[this.head++] = undefined as never;
          s.bufferBytes -= old.payload.length;
          s.bufferDepth--;
          s.droppedSlowChild++;
        }
        // The pump may be stuck in a write for a long time: reclaim the dropped slots here too.
        this.compact();
      }
    }
    this.queue.push({ payload, meta });
    s.bufferBytes += payload.length;
    s.bufferDepth++;
    this.pump();
  }

  /** End of stream: drain the queue, close the child's input, wait for it to exit. */
  async endOfStream(): Promise<ChildExit> {
    this.ending = true;
    await (this.o.native ? this.nativeDrained(this.o.native) : this.drained());
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    const child = this.child;
    if (!child) return this.lastExit ?? { code: this.failed ? 1 : 0, signal: null };
    const exit = new Promise<ChildExit>((resolve) => this.exitWaiters.push(resolve));
    try {
      await child.end();
    } catch (err) {
      this.o.log(`${this.o.kind}: ending the stream: ${(err as Error).message}`);
    }
    return exit;
  }

  /** End of stream if the child takes it within `graceMs`; killed, its transport removed, either way. */
  async endOrKill(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.endOfStream(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.close();
  }

  /** Abort: stop the child and remove its transport (idempotent). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.queue.length = 0;
    this.head = 0;
    if (!this.o.native) {
      this.o.handOff.bufferBytes = 0;
      this.o.handOff.bufferDepth = 0;
    }
    const child = this.child;
    this.child = undefined;
    for (const w of this.drainedWaiters.splice(0)) w();
    this.o.native?.detach(true);
    if (child) await child.close().catch(() => {});
  }

  private async spawn(): Promise<void> {
    const child = await this.o.start();
    if (this.closed) {
      await child.close(); // closed while it was starting: it must not outlive the feeder
      return;
    }
    this.child = child;
    this.startedAt = performance.now();
    this.waitBase = this.o.handOff.waitSeconds;
    this.o.child.up = true;
    void child.exited.then((exit) => this.onExit(child, exit));
    if (this.o.native) this.o.native.attach(child);
    else this.pump();
  }

  private onExit(child: FeedableChild, exit: ChildExit): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.o.child.up = false;
    this.o.native?.detach(false);
    this.lastExit = exit;
    if (this.ending || this.closed) {
      for (const w of this.exitWaiters.splice(0)) w(exit);
      for (const w of this.drainedWaiters.splice(0)) w();
      return;
    }
    // The stream goes on without this child: restart it with backoff, within the limit.
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    if (performance.now() - this.startedAt >= (this.o.healthyRunMs ?? HEALTHY_RUN_MS)) {
      this.restarts = 0;
      this.backoffMs = RESTART_BACKOFF_START_MS;
    }
    if (this.restarts >= this.o.maxRestarts) {
      this.giveUp(`decoder ${how}; restart limit (${this.o.maxRestarts}) reached, giving up on it`);
      return;
    }
    this.restarts++;
    this.o.child.restarts++;
    this.o.log(`${this.o.kind}: decoder ${how}; restarting in ${this.backoffMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      this.spawn().catch((err: Error) => this.giveUp(`cannot restart the decoder: ${err.message}`));
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, RESTART_BACKOFF_MAX_MS);
  }

  /** Drops the consumed slots at the front of the queue once they are half of it. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The child cannot be (re)started any more: the stream goes on without it. */
  private giveUp(message: string): void {
    this.failed = true;
    this.o.log(`${this.o.kind}: ${message}`);
    this.o.native?.detach(true);
    for (const w of this.drainedWaiters.splice(0)) w();
  }

  /** The native queue drained, or this feeder gave up or closed meanwhile. */
  private nativeDrained(native: NativeOutput): Promise<void> {
    if (this.failed || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainedWaiters.push(resolve);
      void native.drained().then(resolve);
    });
  }

  private drained(): Promise<void> {
    if (this.queue.length === this.head && !this.pumping) return Promise.resolve();
    if (this.failed || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  private pump(): void {
    if (this.pumping || !this.child || this.child === this.broken) return;
    this.pumping = true;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
      if (this.queue.length === this.head) {
        for (const w of this.drainedWaiters.splice(0)) w();
      } else {
        this.pump();
      }
    });
  }

  private async pumpLoop(): Promise<void> {
    const s = this.o.handOff;
    while (this.queue.length > this.head && this.child && !this.closed) {
      const child = this.child;
      const payloads: Buffer[] = [];
      const metas: HandOffMeta[] = [];
      let bytes = 0;
      while (this.queue.length > this.head && payloads.length < BATCH_CHUNKS && bytes < BATCH_BYTES) {
        const item = this.queue[this.head]!;
        this.queue[this.head++] = undefined as never;
        payloads.push(item.payload);
        metas.push(item.meta);
        bytes += item.payload.length;
      }
      this.compact();
      s.bufferBytes -= bytes;
      s.bufferDepth -= payloads.length;
      if (this.blocked && s.bufferBytes <= this.o.maxBufferBytes / 2) {
        this.blocked = false;
        this.o.backpressure(false);
      }
      const mustWait = !child.waitSeconds && !child.writable;
      const t0 = performance.now();
      try {
        await child.writeBatch(payloads, metas);
        s.chunksHandedOff += payloads.length;
        s.bytesHandedOff += bytes;
      } catch (err) {
        s.handOffErrors++;
        this.broken = child;
        if (this.child === child && !this.closed) this.o.log(`${this.o.kind}: hand-off failed: ${(err as Error).message}`);
        // The child is gone; its exit handler restarts it. These chunks are lost with it.
        return;
      } finally {
        if (child.waitSeconds) s.waitSeconds = this.waitBase + child.waitSeconds();
        else if (mustWait) s.waitSeconds += (performance.now() - t0) / 1000;
      }
    }
  }
}
