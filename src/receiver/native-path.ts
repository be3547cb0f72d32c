/**
 * The native relay path (issue 12): for UDP in ipcast format, a thread in the addon
 * (native/relay) reads the socket, checks every chunk, selects the channel, puts chunks back
 * in sequence order and writes them into every transport, each behind its own bounded queue
 * (drop-oldest). No JS runs per chunk: this class turns the relay's rare events (guide,
 * channel chosen, end of stream, a queue drained, a failed hand-off) into calls on the
 * receiver, lends each child's writer to the relay while the child is up, and copies the
 * relay's counters into the receiver's figures when asked (sync()).
 */

import { errnoName } from '../shared/errors.js';
import { decodeGuide } from '../shared/guide.js';
import { loadNative, type NativeRelayStats, type NativeUdpRelay } from '../shared/native.js';
import { DECODE_REASONS } from '../shared/protocol.js';
import type { ChannelInfo } from '../shared/guide.js';
import { transportParts, type ReceiverStats } from './stats.js';
import type { TransportKind } from '../transport/stats.js';
import type { FeedableChild, NativeOutput } from './child-feeder.js';

export interface NativePathOptions {
  fd: number;
  /** undefined: the first channel in the guide, else the first data chunk's. */
  channel: number | undefined;
  window: number;
  maxHoldMs: number;
  maxBufferBytes: number;
  transports: TransportKind[];
  stats: ReceiverStats;
}

export interface NativePathHandlers {
  guide(guide: ChannelInfo[]): void;
  selected(channel: number, fromGuide: boolean): void;
  /** The stream `session` ended (end of stream, or the idle timeout): the next is session + 1. */
  sessionEnd(session: number, why: 'eos' | 'idle'): void;
  log(message: string): void;
}

export class NativePath {
  private readonly relay: NativeUdpRelay;
  private readonly drainWaiters = new Map<string, Array<() => void>>();
  private readonly drainedOutputs = new Set<string>();
  private lastActivity = 0;
  private lastDelivered = 0;

  constructor(
    private readonly o: NativePathOptions,
    private readonly h: NativePathHandlers,
  ) {
    const { UdpRelay } = loadNative();
    this.relay = new UdpRelay(
      o.fd,
      { channel: o.channel ?? 0, window: o.window, maxHoldMs: o.maxHoldMs, maxBufferBytes: o.maxBufferBytes, kinds: o.transports },
      (type, kind, a, b, data) => this.onEvent(type, kind, a, b, data),
    );
  }

  /** The output of `kind` in stream `session`, for that session's ChildFeeder. */
  output(kind: TransportKind, session: number): NativeOutput {
    const key = `${kind}:${session}`;
    return {
      attach: (child: FeedableChild) => {
        if (!child.nativeWriter) throw new Error(`${kind}: this child has no native writer to lend`);
        this.relay.attach(kind, session, child.nativeWriter);
      },
      detach: (discard) => this.relay.detach(kind, session, discard),
      drained: () => {
        if (this.drainedOutputs.has(key)) return Promise.resolve();
        return new Promise((resolve) => {
          const list = this.drainWaiters.get(key) ?? [];
          list.push(resolve);
          this.drainWaiters.set(key, list);
        });
      },
    };
  }

  /** Drops the outputs of stream `session` (no children will take them). */
  discard(session: number): void {
    for (const kind of this.o.transports) this.relay.detach(kind, session, true);
  }

  /** The idle timeout: what is held goes out, and the stream ends ('session-end'). */
  endIdle(): void {
    this.relay.endIdle();
  }

  /**
   * Copies the relay's counters into the receiver's figures (each field has one owner: in
   * this path, the relay). Returns whether a chunk that keeps the stream alive arrived since
   * the last call (the idle timer) and how many chunks were delivered since then.
   */
  sync(): { active: boolean; delivered: number } {
    const r: NativeRelayStats = this.relay.stats();
    const s = this.o.stats;
    s.chunksReceived = r.datagrams;
    s.bytesReceived = r.bytes;
    s.otherChannel = r.otherChannel;
    s.lost = r.lost;
    s.reordered = r.reordered;
    s.duplicates = r.duplicates;
    r.decodeErrors.forEach((n, i) => {
      const reason = DECODE_REASONS[i - 1];
      if (i > 0 && reason && n > 0) s.decodeErrors[reason] = n;
    });
    for (const kind of this.o.transports) {
      const t = transportParts(s, kind).handOff;
      const k = r[kind];
      t.chunksHandedOff = k.handedOff;
      t.bytesHandedOff = k.handedOffBytes;
      t.droppedSlowChild = k.droppedSlow;
      t.handOffErrors = k.handOffErrors;
      t.waitSeconds = k.waitNs / 1e9;
      t.bufferDepth = k.depth;
      t.bufferBytes = k.bufferBytes;
    }
    const active = r.activity !== this.lastActivity;
    const delivered = r.delivered - this.lastDelivered;
    this.lastActivity = r.activity;
    this.lastDelivered = r.delivered;
    return { active, delivered };
  }

  /** Every writer comes back, the thread ends. The socket is the caller's to close after. */
  async stop(): Promise<void> {
    await this.relay.stop();
    this.sync();
    for (const list of this.drainWaiters.values()) for (const w of list) w();
    this.drainWaiters.clear();
  }

  private onEvent(type: string, kind: TransportKind | undefined, a: number, b: number, data: Buffer | undefined): void {
    switch (type) {
      case 'guide': {
        const guide = data ? decodeGuide(data) : null;
        if (guide) this.h.guide(guide);
        return;
      }
      case 'selected':
        this.h.selected(a, b === 1);
        return;
      case 'session-end':
        this.h.sessionEnd(a, b === 2 ? 'idle' : 'eos');
        return;
      case 'drained': {
        const key = `${kind}:${a}`;
        this.drainedOutputs.add(key);
        for (const w of this.drainWaiters.get(key) ?? []) w();
        this.drainWaiters.delete(key);
        return;
      }
      case 'handoff-error':
        // ECANCELED: the child's exit closed its transport first; counted, and its exit says the rest.
        if (errnoLabel(b) !== 'ECANCELED') this.h.log(`${kind}: hand-off failed: ${HANDOFF_ERRORS[errnoLabel(b)] ?? 'write failed'} (${errnoLabel(b)})`);
        return;
      case 'socket-error':
        this.h.log(`udp socket: recvmmsg: ${errnoLabel(b)}`);
        return;
      default:
        return; // 'returned': the writer is back with its IpcWriter; nothing to do
    }
  }
}

const HANDOFF_ERRORS: Record<string, string> = {
  EPIPE: 'the decoder closed its end of the pipe',
  EIDRM: 'the transport was removed',
  ENOMEM: 'out of memory',
};

function errnoLabel(e: number): string {
  return errnoName(e) ?? `errno ${e}`;
}
