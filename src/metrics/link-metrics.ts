/**
 * SRT and RIST connections on /metrics: what libsrt (srt_bstats) and librist (its statistics
 * callback) count, per connection, refreshed about once a second by their owner
 * (src/shared/link-stats.ts). Labels: proto (srt, rist), url (the ipcast URL), peer, role
 * (send, recv). docs/metrics.md lists them.
 */
import type { Registry } from 'prom-client';

import type { LinkStats } from '../shared/link-stats.js';
import { counter, gauge, type Sample } from './collector.js';

export const LINK_METRIC_NAMES = [
  'ipcast_link_up',
  'ipcast_link_sent_packets_total',
  'ipcast_link_received_packets_total',
  'ipcast_link_lost_packets_total',
  'ipcast_link_retransmitted_packets_total',
  'ipcast_link_recovered_packets_total',
  'ipcast_link_fec_recovered_packets_total',
  'ipcast_link_dropped_too_late_packets_total',
  'ipcast_link_rtt_seconds',
  'ipcast_link_send_rate_bits_per_second',
  'ipcast_link_receive_rate_bits_per_second',
] as const;

const LABELS = ['proto', 'url', 'peer', 'role'];

/** `links` returns every list of links to export (the sender's, the receiver's, a relay's both). */
export function registerLinkMetrics(registry: Registry, links: () => LinkStats[]): void {
  const per = (pick: (l: LinkStats) => number) => (): Sample[] =>
    links().map((l) => ({ labels: { proto: l.proto, url: l.url, peer: l.peer, role: l.role }, value: pick(l) }));
  gauge(registry, 'ipcast_link_up', 'An SRT or RIST connection is up (1) or was (0).', LABELS, per((l) => (l.up ? 1 : 0)));
  counter(registry, 'ipcast_link_sent_packets_total', 'Data packets the library sent, retransmissions included.', LABELS, per((l) => l.packetsSent));
  counter(registry, 'ipcast_link_received_packets_total', 'Data packets the library received.', LABELS, per((l) => l.packetsReceived));
  counter(registry, 'ipcast_link_lost_packets_total', 'Losses the protocol detected, before repair (SRT pktRcvLossTotal / pktSndLossTotal, RIST missing).', LABELS, per((l) => l.lost));
  counter(registry, 'ipcast_link_retransmitted_packets_total', 'Sender: retransmissions sent; receiver: retransmitted packets received.', LABELS, per((l) => l.retransmitted));
  counter(registry, 'ipcast_link_recovered_packets_total', 'Receiver: losses repaired (retransmission or FEC).', LABELS, per((l) => l.recovered));
  counter(registry, 'ipcast_link_fec_recovered_packets_total', "Receiver: packets rebuilt by SRT's FEC filter.", LABELS, per((l) => l.fecRecovered));
  counter(registry, 'ipcast_link_dropped_too_late_packets_total', 'Packets given up as too late for the latency budget (SRT TLPKTDROP, RIST lost).', LABELS, per((l) => l.droppedTooLate));
  gauge(registry, 'ipcast_link_rtt_seconds', 'Round-trip time the library measures.', LABELS, per((l) => l.rttMs / 1000));
  gauge(registry, 'ipcast_link_send_rate_bits_per_second', 'Send rate the library reports.', LABELS, per((l) => l.sendBitsPerSecond));
  gauge(registry, 'ipcast_link_receive_rate_bits_per_second', 'Receive rate the library reports.', LABELS, per((l) => l.receiveBitsPerSecond));
}
