/**
 * The JSON the dashboard receives over its WebSocket every 500 ms: per transport the totals
 * and the rates since the previous snapshot, the network side, the guide, and the sender's
 * outputs when this process sends. Rates come from deltas between two calls, so one
 * snapshot source is shared by all dashboard clients (the server calls it once per tick).
 */
import type { ChannelInfo } from '../shared/guide.js';
import type { ReceiverStats } from '../receiver/stats.js';
import { TRANSPORT_KINDS, type TransportKind } from '../transport/stats.js';
import type { LinkStats } from '../shared/link-stats.js';
import type { SenderStatsLike } from './sender-metrics.js';

export interface TransportSnapshot {
  transport: TransportKind;
  up: boolean;
  chunks: number;
  bytes: number;
  /** Since the previous snapshot. */
  bytesPerSecond: number;
  chunksPerSecond: number;
  /** false when the decoder reads the pipe itself: no sink, so the latencies and sink* figures
   *  below are not measured (0). */
  sink: boolean;
  /** As the sink reports them (microseconds). */
  handOffP50Us: number;
  handOffP99Us: number;
  endToEndP50Us: number;
  endToEndP99Us: number;
  /** Chunks dropped for a slow child: total and per second since the previous snapshot. */
  dropped: number;
  droppedPerSecond: number;
  waitSeconds: number;
  restarts: number;
  handOffErrors: number;
  bufferDepth: number;
  bufferBytes: number;
  sinkChunks: number;
  sinkGaps: number;
  sinkChecksumErrors: number;
}

export interface NetworkSnapshot {
  chunksReceived: number;
  bytesReceived: number;
  bytesPerSecond: number;
  lost: number;
  reordered: number;
  duplicates: number;
  /** Sum of decode errors over every reason. */
  corrupt: number;
  decodeErrors: Record<string, number>;
  kernelDrops: number;
  reconnects: number;
  otherChannel: number;
  channel: number;
  endOfStream: boolean;
}

export interface SenderOutputSnapshot {
  url: string;
  proto: string;
  mode: string;
  chunks: number;
  bytes: number;
  bytesPerSecond: number;
  clients: number;
  clientsDropped: number;
  sendErrors: number;
}

export interface DashboardSnapshot {
  /** ms since the Unix epoch. */
  time: number;
  version: string;
  transports: TransportSnapshot[];
  network: NetworkSnapshot | null;
  guide: ChannelInfo[];
  sender: { outputs: SenderOutputSnapshot[] } | null;
  /** SRT and RIST connections (receiver's and sender's), as their libraries count them. */
  links: LinkStats[];
}

export interface SnapshotSources {
  receiver?: ReceiverStats | (() => ReceiverStats);
  sender?: SenderStatsLike | (() => SenderStatsLike);
  version?: string;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

const resolve = <T>(s: T | (() => T) | undefined): T | undefined => (typeof s === 'function' ? (s as () => T)() : s);

/** Returns a function that builds a snapshot, with rates computed against the previous call. */
export function createSnapshotSource(sources: SnapshotSources): () => DashboardSnapshot {
  const now = sources.now ?? Date.now;
  const prev = new Map<string, { t: number; v: number }>();
  /** Per-second rate of a running total since the last call for the same key (0 on the first call). */
  const rate = (key: string, value: number, t: number): number => {
    const p = prev.get(key);
    prev.set(key, { t, v: value });
    if (!p || t <= p.t || value < p.v) return 0;
    return ((value - p.v) * 1000) / (t - p.t);
  };

  return () => {
    const t = now();
    const receiver = resolve(sources.receiver);
    const sender = resolve(sources.sender);
    const transports: TransportSnapshot[] = [];
    let network: NetworkSnapshot | null = null;
    if (receiver) {
      for (const kind of TRANSPORT_KINDS) {
        const s = receiver.transports[kind];
        if (!s) continue;
        transports.push({
          transport: kind,
          up: s.up,
          sink: s.sink,
          chunks: s.chunksHandedOff,
          bytes: s.bytesHandedOff,
          bytesPerSecond: rate(`t:${kind}:bytes`, s.bytesHandedOff, t),
          chunksPerSecond: rate(`t:${kind}:chunks`, s.chunksHandedOff, t),
          handOffP50Us: s.handOffLatency.p50Us,
          handOffP99Us: s.handOffLatency.p99Us,
          endToEndP50Us: s.endToEndLatency.p50Us,
          endToEndP99Us: s.endToEndLatency.p99Us,
          dropped: s.droppedSlowChild,
          droppedPerSecond: rate(`t:${kind}:dropped`, s.droppedSlowChild, t),
          waitSeconds: s.waitSeconds,
          restarts: s.restarts,
          handOffErrors: s.handOffErrors,
          bufferDepth: s.bufferDepth,
          bufferBytes: s.bufferBytes,
          sinkChunks: s.sinkChunks,
          sinkGaps: s.sinkGaps,
          sinkChecksumErrors: s.sinkChecksumErrors,
        });
      }
      const decodeErrors: Record<string, number> = {};
      let corrupt = 0;
      for (const [reason, n] of Object.entries(receiver.decodeErrors)) {
        decodeErrors[reason] = n ?? 0;
        corrupt += n ?? 0;
      }
      network = {
        chunksReceived: receiver.chunksReceived,
        bytesReceived: receiver.bytesReceived,
        bytesPerSecond: rate('net:bytes', receiver.bytesReceived, t),
        lost: receiver.lost,
        reordered: receiver.reordered,
        duplicates: receiver.duplicates,
        corrupt,
        decodeErrors,
        kernelDrops: receiver.kernelDrops,
        reconnects: receiver.reconnects,
        otherChannel: receiver.otherChannel,
        channel: receiver.channel,
        endOfStream: receiver.endOfStream,
      };
    }
    return {
      time: t,
      version: sources.version ?? '',
      transports,
      network,
      guide: receiver ? receiver.guide.map((c) => ({ ...c })) : [],
      sender: sender
        ? {
            outputs: sender.outputs.map((o) => ({
              url: o.url,
              proto: o.proto,
              mode: o.mode,
              chunks: o.chunks,
              bytes: o.bytes,
              bytesPerSecond: rate(`out:${o.url}:bytes`, o.bytes, t),
              clients: o.clients ?? 0,
              clientsDropped: o.clientsDropped ?? 0,
              sendErrors: o.sendErrors ?? 0,
            })),
          }
        : null,
      links: [...(receiver?.links ?? []), ...(sender?.links ?? [])].map((l) => ({ ...l })),
    };
  };
}
