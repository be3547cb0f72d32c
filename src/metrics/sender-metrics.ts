/**
 * The sender's Prometheus metrics, read from its live stats object at scrape time.
 *
 * The metrics area sits above the sender: the figures read here are the sender's own types
 * (src/sender/stats.ts). The *Like types only say which of their fields must be there, so a
 * relay (src/relay) or a test can pass what it has.
 */
import type { Registry } from 'prom-client';

import type { ChannelStats, OutputStats, SenderStats } from '../sender/stats.js';
import { counter, gauge, type Sample } from './collector.js';

export type SenderOutputStatsLike = Pick<OutputStats, 'url' | 'proto' | 'mode' | 'chunks' | 'bytes'> & Partial<OutputStats>;
export type SenderChannelStatsLike = Pick<ChannelStats, 'id' | 'name' | 'chunks' | 'bytes'> & Partial<ChannelStats>;

export interface SenderStatsLike extends Partial<Pick<SenderStats, 'startedAt' | 'guides'>> {
  channels: readonly SenderChannelStatsLike[];
  outputs: readonly SenderOutputStatsLike[];
  /** SRT and RIST connections (exported by link-metrics.ts). */
  links?: readonly import('../shared/link-stats.js').LinkStats[];
}

export const SENDER_METRIC_NAMES = [
  'ipcast_sender_sent_chunks_total',
  'ipcast_sender_sent_bytes_total',
  'ipcast_sender_guides_sent_total',
  'ipcast_sender_send_errors_total',
  'ipcast_sender_output_full_dropped_chunks_total',
  'ipcast_sender_udp_inflight_datagrams',
  'ipcast_sender_tcp_clients',
  'ipcast_sender_tcp_clients_accepted_total',
  'ipcast_sender_tcp_clients_dropped_total',
  'ipcast_sender_channel_chunks_total',
  'ipcast_sender_channel_bytes_total',
  'ipcast_sender_channel_loops_total',
  'ipcast_sender_channel_rate_bytes_per_second',
  'ipcast_sender_channel_ended',
] as const;

export function registerSenderMetrics(registry: Registry, source: SenderStatsLike | (() => SenderStatsLike)): void {
  const get = typeof source === 'function' ? source : () => source;
  const outLabels = (o: SenderOutputStatsLike) => ({ output: o.url, proto: o.proto, mode: o.mode });
  const perOutput = (pick: (o: SenderOutputStatsLike) => number, filter: (o: SenderOutputStatsLike) => boolean = () => true) => (): Sample[] =>
    get().outputs.filter(filter).map((o) => ({ labels: outLabels(o), value: pick(o) }));
  const tcp = (o: SenderOutputStatsLike) => o.proto === 'tcp';
  const udp = (o: SenderOutputStatsLike) => o.proto === 'udp';
  const perChannel = (pick: (c: SenderChannelStatsLike) => number) => (): Sample[] =>
    get().channels.map((c) => ({ labels: { channel: String(c.id), name: c.name }, value: pick(c) }));
  const OUT = ['output', 'proto', 'mode'] as const;

  counter(registry, 'ipcast_sender_sent_chunks_total', 'Chunks (data, guide, end of stream) handed to the socket, per output; TCP counts once per client.', OUT, perOutput((o) => o.chunks));
  counter(registry, 'ipcast_sender_sent_bytes_total', 'Wire bytes (header and payload) handed to the socket, per output.', OUT, perOutput((o) => o.bytes));
  counter(registry, 'ipcast_sender_guides_sent_total', 'Channel guide chunks sent, per output.', OUT, perOutput((o) => o.guides ?? 0));
  counter(registry, 'ipcast_sender_send_errors_total', 'Sends that failed, per output, by errno code.', [...OUT, 'reason'], () =>
    get().outputs.flatMap((o) =>
      Object.entries(o.errorsByCode ?? {}).map(([reason, value]) => ({ labels: { ...outLabels(o), reason }, value })),
    ),
  );
  counter(registry, 'ipcast_sender_output_full_dropped_chunks_total', 'relay: chunks an output missed because it was full while the input could not wait (a sender waits instead).', OUT, perOutput((o) => o.droppedFull ?? 0));
  gauge(registry, 'ipcast_sender_udp_inflight_datagrams', 'UDP datagrams handed to the kernel and not yet confirmed sent.', OUT, perOutput((o) => o.inflight ?? 0, udp));
  gauge(registry, 'ipcast_sender_tcp_clients', 'TCP receivers connected now.', OUT, perOutput((o) => o.clients ?? 0, tcp));
  counter(registry, 'ipcast_sender_tcp_clients_accepted_total', 'TCP receivers accepted since start.', OUT, perOutput((o) => o.clientsAccepted ?? 0, tcp));
  counter(
    registry,
    'ipcast_sender_tcp_clients_dropped_total',
    'TCP receivers that went away, by reason (slow: dropped for falling behind; refused: over --max-clients; closed: left by themselves).',
    [...OUT, 'reason'],
    () =>
      get()
        .outputs.filter(tcp)
        .flatMap((o) => [
          { labels: { ...outLabels(o), reason: 'slow' }, value: o.clientsDropped ?? 0 },
          { labels: { ...outLabels(o), reason: 'refused' }, value: o.clientsRefused ?? 0 },
          { labels: { ...outLabels(o), reason: 'closed' }, value: o.clientsClosed ?? 0 },
        ]),
  );
  counter(registry, 'ipcast_sender_channel_chunks_total', 'Data chunks produced per channel (each goes to every output).', ['channel', 'name'], perChannel((c) => c.chunks));
  counter(registry, 'ipcast_sender_channel_bytes_total', 'Payload bytes produced per channel.', ['channel', 'name'], perChannel((c) => c.bytes));
  counter(registry, 'ipcast_sender_channel_loops_total', 'Times a looped source started over.', ['channel', 'name'], perChannel((c) => c.loops ?? 0));
  gauge(
    registry,
    'ipcast_sender_channel_rate_bytes_per_second',
    'The rate the channel is paced at, in bytes per second (bits / 8); absent when unpaced.',
    ['channel', 'name'],
    () =>
      get()
        .channels.filter((c) => c.rateBitsPerSecond !== undefined && Number.isFinite(c.rateBitsPerSecond))
        .map((c) => ({ labels: { channel: String(c.id), name: c.name }, value: c.rateBitsPerSecond! / 8 })),
  );
  gauge(registry, 'ipcast_sender_channel_ended', "1 once the channel's source has ended.", ['channel', 'name'], perChannel((c) => (c.ended ? 1 : 0)));
}
