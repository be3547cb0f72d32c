/**
 * The receiver's Prometheus metrics, read from its live ReceiverStats at scrape time.
 * Every name is listed with its type and labels in docs/metrics.md.
 *
 * The stats object is read, never written: the receiver keeps mutating the same object in
 * place and each scrape sees the figures of that moment. Transports appear once the
 * receiver has put them in `stats.transports`; every decode reason is exported from the
 * first scrape on (at 0), so rate() works without a missing-series gap.
 */
import type { Registry } from 'prom-client';

import { DECODE_REASONS } from '../shared/protocol.js';
import type { ReceiverStats } from '../receiver/stats.js';
import { TRANSPORT_KINDS, type TransportStats } from '../transport/stats.js';
import { counter, gauge, histogram, type HistogramSample, type Sample } from './collector.js';

export const RECEIVER_METRIC_NAMES = [
  'ipcast_receiver_received_chunks_total',
  'ipcast_receiver_received_bytes_total',
  'ipcast_receiver_decode_errors_total',
  'ipcast_receiver_lost_chunks_total',
  'ipcast_receiver_reordered_chunks_total',
  'ipcast_receiver_duplicate_chunks_total',
  'ipcast_receiver_other_channel_chunks_total',
  'ipcast_receiver_kernel_drops_total',
  'ipcast_receiver_reconnects_total',
  'ipcast_receiver_end_of_stream',
  'ipcast_receiver_channel_info',
  'ipcast_transport_handoff_chunks_total',
  'ipcast_transport_handoff_bytes_total',
  'ipcast_transport_handoff_wait_seconds_total',
  'ipcast_transport_dropped_chunks_total',
  'ipcast_transport_restarts_total',
  'ipcast_transport_handoff_errors_total',
  'ipcast_transport_buffer_chunks',
  'ipcast_transport_buffer_bytes',
  'ipcast_transport_child_up',
  'ipcast_transport_sink_chunks_total',
  'ipcast_transport_sink_bytes_total',
  'ipcast_transport_sink_errors_total',
  'ipcast_transport_handoff_latency_seconds',
  'ipcast_transport_end_to_end_latency_seconds',
] as const;

/** The transports present in the stats, in the fixed order pipe, shm, msg. */
export function presentTransports(stats: ReceiverStats): TransportStats[] {
  const out: TransportStats[] = [];
  for (const kind of TRANSPORT_KINDS) {
    const t = stats.transports[kind];
    if (t) out.push(t);
  }
  return out;
}

/** Registers the receiver's metrics on `registry`; they read `stats` (or what `stats()` returns) on every scrape. */
export function registerReceiverMetrics(registry: Registry, source: ReceiverStats | (() => ReceiverStats)): void {
  const get = typeof source === 'function' ? source : () => source;
  const one = (value: number, labels: Record<string, string> = {}): Sample[] => [{ labels, value }];
  const channel = () => String(get().channel);
  const perTransport = (pick: (t: TransportStats) => number, extra: Record<string, string> = {}): (() => Sample[]) => () =>
    presentTransports(get()).map((t) => ({ labels: { transport: t.transport, ...extra }, value: pick(t) }));
  // What only a sink measures has no series for a transport whose decoder reads the pipe itself.
  const withSink = (): TransportStats[] => presentTransports(get()).filter((t) => t.sink);
  const perSinkTransport = (pick: (t: TransportStats) => number): (() => Sample[]) => () =>
    withSink().map((t) => ({ labels: { transport: t.transport }, value: pick(t) }));
  const perTransportHist = (pick: (t: TransportStats) => HistogramSample['histogram']): (() => HistogramSample[]) => () =>
    withSink().map((t) => ({ labels: { transport: t.transport }, histogram: pick(t) }));

  // Network side.
  counter(registry, 'ipcast_receiver_received_chunks_total', 'Datagrams or TCP chunks received, before validation.', [], () =>
    one(get().chunksReceived),
  );
  counter(registry, 'ipcast_receiver_received_bytes_total', 'Bytes received from the network, before validation.', [], () =>
    one(get().bytesReceived),
  );
  counter(registry, 'ipcast_receiver_decode_errors_total', 'Chunks rejected by the decoder, by reason.', ['reason'], () => {
    const errs = get().decodeErrors;
    const reasons = new Set<string>([...DECODE_REASONS, ...Object.keys(errs)]);
    return [...reasons].map((reason) => ({ labels: { reason }, value: (errs as Record<string, number | undefined>)[reason] ?? 0 }));
  });
  counter(registry, 'ipcast_receiver_lost_chunks_total', 'Sequence numbers on the played channel that recv gave up waiting for (docs/receiver.md: more than the window above them, the hold time, or the end of the stream).', ['channel'], () =>
    one(get().lost, { channel: channel() }),
  );
  counter(registry, 'ipcast_receiver_reordered_chunks_total', 'Chunks on the played channel that arrived after a higher sequence number had (not duplicates; counted on arrival, late ones included).', ['channel'], () =>
    one(get().reordered, { channel: channel() }),
  );
  counter(registry, 'ipcast_receiver_duplicate_chunks_total', 'Chunks on the played channel whose sequence number had already arrived in this stream (dropped).', ['channel'], () =>
    one(get().duplicates, { channel: channel() }),
  );
  counter(registry, 'ipcast_receiver_other_channel_chunks_total', 'Valid chunks for channels other than the played one (ignored).', [], () =>
    one(get().otherChannel),
  );
  counter(
    registry,
    'ipcast_receiver_kernel_drops_total',
    "Datagrams the kernel dropped on the receive socket (the drops column of /proc/net/udp), when known.",
    ['reason'],
    () => one(get().kernelDrops, { reason: 'socket_buffer_full' }),
  );
  counter(registry, 'ipcast_receiver_reconnects_total', 'TCP reconnects after the sender went away.', [], () => one(get().reconnects));
  gauge(registry, 'ipcast_receiver_end_of_stream', '1 once the played channel has ended.', [], () => one(get().endOfStream ? 1 : 0));
  gauge(
    registry,
    'ipcast_receiver_channel_info',
    'The channel guide as last received: one series per channel, value 1; playing="1" on the played channel.',
    ['channel', 'name', 'bitrate', 'playing'],
    () => {
      const s = get();
      return s.guide.map((ch) => ({
        labels: { channel: String(ch.id), name: ch.name, bitrate: String(ch.bitrate), playing: ch.id === s.channel ? '1' : '0' },
        value: 1,
      }));
    },
  );

  // Per transport.
  counter(registry, 'ipcast_transport_handoff_chunks_total', 'Chunks the receiver handed to the transport.', ['transport'], perTransport((t) => t.chunksHandedOff));
  counter(registry, 'ipcast_transport_handoff_bytes_total', 'Payload bytes the receiver handed to the transport.', ['transport'], perTransport((t) => t.bytesHandedOff));
  counter(
    registry,
    'ipcast_transport_handoff_wait_seconds_total',
    'Seconds the writer spent waiting on a full pipe, ring or queue.',
    ['transport'],
    perTransport((t) => t.waitSeconds),
  );
  counter(
    registry,
    'ipcast_transport_dropped_chunks_total',
    'Chunks dropped before the transport, by reason (slow_child: the child fell behind and the bounded buffer dropped its oldest).',
    ['transport', 'reason'],
    perTransport((t) => t.droppedSlowChild, { reason: 'slow_child' }),
  );
  counter(registry, 'ipcast_transport_restarts_total', 'Decoder (or sink) restarts after the child exited while the stream went on.', ['transport'], perTransport((t) => t.restarts));
  counter(registry, 'ipcast_transport_handoff_errors_total', 'Hand-offs that failed (EPIPE, child died mid-write).', ['transport'], perTransport((t) => t.handOffErrors));
  gauge(registry, 'ipcast_transport_buffer_chunks', 'Chunks waiting in the per-child buffer now.', ['transport'], perTransport((t) => t.bufferDepth));
  gauge(registry, 'ipcast_transport_buffer_bytes', 'Bytes waiting in the per-child buffer now.', ['transport'], perTransport((t) => t.bufferBytes));
  gauge(registry, 'ipcast_transport_child_up', '1 while the child (decoder or sink) is running.', ['transport'], perTransport((t) => (t.up ? 1 : 0)));
  counter(registry, 'ipcast_transport_sink_chunks_total', 'Chunks the sink read and verified, as it reports them.', ['transport'], perSinkTransport((t) => t.sinkChunks));
  counter(registry, 'ipcast_transport_sink_bytes_total', 'Payload bytes the sink read and verified, as it reports them.', ['transport'], perSinkTransport((t) => t.sinkBytes));
  counter(registry, 'ipcast_transport_sink_errors_total', 'Errors the sink found in what it read, by reason (gap, checksum_mismatch).', ['transport', 'reason'], () =>
    withSink().flatMap((t) => [
      { labels: { transport: t.transport, reason: 'gap' }, value: t.sinkGaps },
      { labels: { transport: t.transport, reason: 'checksum_mismatch' }, value: t.sinkChecksumErrors },
    ]),
  );
  histogram(
    registry,
    'ipcast_transport_handoff_latency_seconds',
    'Receiver hand-off to child read, as the sink measures it.',
    ['transport'],
    perTransportHist((t) => t.handOffLatency),
  );
  histogram(
    registry,
    'ipcast_transport_end_to_end_latency_seconds',
    'Sender timestamp to child read, as the sink measures it (same-machine clocks).',
    ['transport'],
    perTransportHist((t) => t.endToEndLatency),
  );
}
