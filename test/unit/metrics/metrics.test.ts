/**
 * The metrics layer on synthetic stats: names, labels and values, histogram shape,
 * monotonic counters, promtool, and the HTTP + WebSocket server.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { UsageError, RuntimeError } from '../../../src/shared/errors.js';
import {
  createMetricsRegistry,
  createSnapshotSource,
  counter,
  RECEIVER_METRIC_NAMES,
  SENDER_METRIC_NAMES,
  serveMetrics,
  startMetricsServer,
  type DashboardSnapshot,
  type SenderStatsLike,
} from '../../../src/metrics/index.js';
import { DECODE_REASONS } from '../../../src/shared/protocol.js';
import { summary } from '../../../src/receiver/run.js';
import { emptyTransportStats, LATENCY_BUCKETS_US, TRANSPORT_KINDS } from '../../../src/transport/stats.js';
import { parseMetrics, promtoolCheck, sample, select } from '../../helpers/metrics-parse.js';
import { advance, expected, GUIDE, syntheticReceiver } from '../../helpers/metrics-synthetic.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function syntheticSender(): SenderStatsLike & { outputs: Array<SenderStatsLike['outputs'][number]> } {
  return {
    startedAt: Date.now(),
    guides: 3,
    channels: [{ id: 1, name: 'tone 440', rateBitsPerSecond: 320_000, chunks: 100, bytes: 131_600, loops: 2, ended: false }],
    outputs: [
      { url: 'udp://239.255.0.1:5004?iface=127.0.0.1', proto: 'udp', mode: 'multicast', chunks: 103, bytes: 140_000, guides: 3, sendErrors: 1, errorsByCode: { ENOBUFS: 1 }, inflight: 2, droppedFull: 4 },
      { url: 'tcp://127.0.0.1:5005', proto: 'tcp', mode: 'server', chunks: 206, bytes: 280_000, guides: 6, sendErrors: 0, errorsByCode: {}, clients: 2, clientsAccepted: 3, clientsDropped: 1, clientsRefused: 0, clientsClosed: 0 },
    ],
  };
}

async function scrape(registry: Registry) {
  const text = await registry.metrics();
  return { text, parsed: parseMetrics(text) };
}

describe('receiver metrics', () => {
  it('exports every receiver metric with the right type, labels and values', async () => {
    const stats = syntheticReceiver();
    const registry = createMetricsRegistry({ receiver: stats, defaultMetrics: false });
    advance(stats, 40);
    const { parsed } = await scrape(registry);

    for (const name of RECEIVER_METRIC_NAMES) expect(parsed.types.has(name), name).toBe(true);
    for (const [name, type] of parsed.types) {
      expect(name.startsWith('ipcast_'), name).toBe(true);
      if (type === 'counter') expect(name.endsWith('_total'), name).toBe(true);
      else expect(name.endsWith('_total'), name).toBe(false);
    }
    expect(parsed.types.get('ipcast_transport_handoff_latency_seconds')).toBe('histogram');
    expect(parsed.types.get('ipcast_transport_buffer_chunks')).toBe('gauge');

    for (const kind of TRANSPORT_KINDS) {
      const e = expected(kind, 40);
      const t = { transport: kind };
      expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', t)).toBe(e.chunks);
      expect(sample(parsed, 'ipcast_transport_handoff_bytes_total', t)).toBe(e.bytes);
      expect(sample(parsed, 'ipcast_transport_sink_bytes_total', t)).toBe(e.bytes);
      expect(sample(parsed, 'ipcast_transport_dropped_chunks_total', { ...t, reason: 'slow_child' })).toBe(e.dropped);
      expect(sample(parsed, 'ipcast_transport_handoff_wait_seconds_total', t)).toBeCloseTo(0.04, 9);
      expect(sample(parsed, 'ipcast_transport_child_up', t)).toBe(1);
      expect(sample(parsed, 'ipcast_transport_buffer_chunks', t)).toBe(0); // 40 % 5
      expect(sample(parsed, 'ipcast_transport_restarts_total', t)).toBe(0);
      expect(sample(parsed, 'ipcast_transport_sink_errors_total', { ...t, reason: 'gap' })).toBe(0);
      expect(sample(parsed, 'ipcast_transport_sink_errors_total', { ...t, reason: 'checksum_mismatch' })).toBe(0);
    }

    expect(sample(parsed, 'ipcast_receiver_received_chunks_total')).toBe(stats.chunksReceived);
    expect(sample(parsed, 'ipcast_receiver_received_bytes_total')).toBe(stats.bytesReceived);
    expect(sample(parsed, 'ipcast_receiver_lost_chunks_total', { channel: '1' })).toBe(13);
    expect(sample(parsed, 'ipcast_receiver_reordered_chunks_total', { channel: '1' })).toBe(5);
    expect(sample(parsed, 'ipcast_receiver_duplicate_chunks_total', { channel: '1' })).toBe(3);
    expect(sample(parsed, 'ipcast_receiver_kernel_drops_total')).toBe(2);
    for (const reason of DECODE_REASONS) {
      const want = reason === 'checksum_mismatch' ? 8 : reason === 'bad_magic' ? 3 : 0;
      expect(sample(parsed, 'ipcast_receiver_decode_errors_total', { reason }), reason).toBe(want);
    }
    const guide = select(parsed, 'ipcast_receiver_channel_info');
    expect(guide.map((s) => s.labels)).toEqual([
      { channel: '1', name: GUIDE[0]!.name, bitrate: '320000', playing: '1' },
      { channel: '2', name: GUIDE[1]!.name, bitrate: '8000000', playing: '0' },
    ]);
  });

  it('exports histograms in seconds with cumulative buckets that end in +Inf = _count', async () => {
    const stats = syntheticReceiver();
    const registry = createMetricsRegistry({ receiver: stats, defaultMetrics: false });
    advance(stats, 25);
    const { parsed } = await scrape(registry);
    for (const name of ['ipcast_transport_handoff_latency_seconds', 'ipcast_transport_end_to_end_latency_seconds']) {
      for (const kind of TRANSPORT_KINDS) {
        const buckets = select(parsed, `${name}_bucket`, { transport: kind });
        expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BUCKETS_US.map((us) => String(us / 1e6)), '+Inf']);
        const bounds = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
        for (let i = 1; i < buckets.length; i++) {
          expect(bounds[i]!).toBeGreaterThan(bounds[i - 1]!);
          expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
        }
        const count = sample(parsed, `${name}_count`, { transport: kind });
        expect(buckets.at(-1)!.value).toBe(count);
        const e = expected(kind, 25);
        if (name.includes('handoff')) {
          expect(count).toBe(e.handOffCount);
          expect(sample(parsed, `${name}_sum`, { transport: kind })).toBeCloseTo(e.handOffSumSeconds, 9);
          // every sample sits in one bucket: everything below it is 0, everything from it on is the count
          const idx = buckets.findIndex((b) => b.value > 0);
          expect(buckets[idx]!.value).toBe(count);
          expect(bounds[idx]! * 1e6).toBeCloseTo(LATENCY_BUCKETS_US[{ pipe: 3, shm: 1, msg: 2 }[kind]]!, 6);
        } else {
          expect(count).toBe(e.endToEndCount);
          expect(buckets.at(-2)!.value).toBe(count - 2); // two samples over 1 s after 25 steps
          expect(sample(parsed, `${name}_sum`, { transport: kind })).toBeCloseTo(e.endToEndSumSeconds, 9);
        }
      }
    }
  });

  it('moves as the stats move, and counters never go backwards', async () => {
    const stats = syntheticReceiver(['shm']);
    const registry = createMetricsRegistry({ receiver: stats, defaultMetrics: false });
    let { parsed } = await scrape(registry);
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' })).toBe(0);
    expect(select(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'pipe' })).toEqual([]);

    advance(stats, 10);
    ({ parsed } = await scrape(registry));
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' })).toBe(expected('shm', 10).chunks);

    // A transport that appears later shows up on the next scrape.
    stats.transports.pipe = emptyTransportStats('pipe');
    stats.transports.pipe.chunksHandedOff = 7;
    ({ parsed } = await scrape(registry));
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'pipe' })).toBe(7);

    // The shm stats object is replaced (its totals start over): the counter keeps counting up.
    const before = sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' });
    stats.transports.shm = emptyTransportStats('shm');
    stats.transports.shm.chunksHandedOff = 5;
    ({ parsed } = await scrape(registry));
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' })).toBe(before + 5);
    stats.transports.shm.chunksHandedOff = 9;
    ({ parsed } = await scrape(registry));
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' })).toBe(before + 9);
  });
});

describe('sender metrics and the registry', () => {
  it('exports sender outputs, TCP clients and channels', async () => {
    const sender = syntheticSender();
    const registry = createMetricsRegistry({ sender, defaultMetrics: false });
    const { parsed } = await scrape(registry);
    for (const name of SENDER_METRIC_NAMES) expect(parsed.types.has(name), name).toBe(true);
    const udp = { output: sender.outputs[0]!.url, proto: 'udp', mode: 'multicast' };
    const tcp = { output: 'tcp://127.0.0.1:5005', proto: 'tcp', mode: 'server' };
    expect(sample(parsed, 'ipcast_sender_sent_chunks_total', udp)).toBe(103);
    expect(sample(parsed, 'ipcast_sender_sent_bytes_total', tcp)).toBe(280_000);
    expect(sample(parsed, 'ipcast_sender_send_errors_total', { ...udp, reason: 'ENOBUFS' })).toBe(1);
    expect(sample(parsed, 'ipcast_sender_output_full_dropped_chunks_total', udp)).toBe(4);
    expect(sample(parsed, 'ipcast_sender_tcp_clients', tcp)).toBe(2);
    expect(select(parsed, 'ipcast_sender_tcp_clients', udp)).toEqual([]);
    expect(sample(parsed, 'ipcast_sender_tcp_clients_dropped_total', { ...tcp, reason: 'slow' })).toBe(1);
    expect(sample(parsed, 'ipcast_sender_udp_inflight_datagrams', udp)).toBe(2);
    expect(sample(parsed, 'ipcast_sender_channel_bytes_total', { channel: '1', name: 'tone 440' })).toBe(131_600);
    expect(sample(parsed, 'ipcast_sender_channel_rate_bytes_per_second', { channel: '1' })).toBe(40_000);
    expect(sample(parsed, 'ipcast_build_info', { role: 'sender' })).toBe(1);
  });

  it('passes promtool check metrics with receiver, sender and process metrics together', async () => {
    const stats = syntheticReceiver();
    stats.guide.push({ id: 3, name: 'odd "name"\\ with\nnewline', description: '', bitrate: 0 });
    const registry = createMetricsRegistry({ receiver: stats, sender: syntheticSender() });
    advance(stats, 12);
    const { text, parsed } = await scrape(registry);
    expect(parsed.types.has('process_cpu_seconds_total')).toBe(true);
    expect(parsed.types.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(sample(parsed, 'ipcast_build_info', { role: 'sender,receiver' })).toBe(1);
    expect(select(parsed, 'ipcast_receiver_channel_info', { channel: '3' })[0]!.labels.name).toBe('odd "name"\\ with\nnewline');
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('promtool really lints: it rejects a gauge named like a counter', async () => {
    const check = await promtoolCheck('# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n');
    expect(check.exitCode).not.toBe(0);
  });

  it('rejects a counter without _total and a label that was not declared', async () => {
    const registry = new Registry();
    expect(() => counter(registry, 'ipcast_bad', 'h', [], () => [])).toThrow(/must end in _total/);
    const m = counter(registry, 'ipcast_x_total', 'h', ['a'], () => [{ labels: { b: '1' }, value: 1 }]);
    expect(m).toBeInstanceOf(Counter);
    await expect(m.get()).rejects.toThrow(/label 'b' is not declared/);
  });
});

describe('dashboard snapshot', () => {
  it('computes per-transport throughput and drop rates from deltas', () => {
    const stats = syntheticReceiver();
    let now = 1_000_000;
    const snap = createSnapshotSource({ receiver: stats, version: '9.9.9', now: () => now });
    const first = snap();
    expect(first.transports.map((t) => t.transport)).toEqual(['pipe', 'shm', 'msg']);
    expect(first.transports.every((t) => t.bytesPerSecond === 0)).toBe(true);
    advance(stats, 4);
    now += 500;
    const second = snap();
    for (const t of second.transports) {
      const e = expected(t.transport, 4);
      expect(t.bytes).toBe(e.bytes);
      expect(t.bytesPerSecond).toBeCloseTo(e.bytes * 2, 6);
      expect(t.droppedPerSecond).toBeCloseTo(e.dropped * 2, 6);
      expect(t.handOffP99Us).toBeGreaterThan(0);
    }
    expect(second.network).toMatchObject({ lost: 1, corrupt: 0, channel: 1 });
    expect(second.guide).toEqual(GUIDE);
    expect(second.version).toBe('9.9.9');
    expect(second.sender).toBeNull();
  });
});

describe('a transport with no sink (pipe + --exec: the decoder reads the pipe itself)', () => {
  const SINK_ONLY = [
    'ipcast_transport_sink_chunks_total',
    'ipcast_transport_sink_bytes_total',
    'ipcast_transport_sink_errors_total',
    'ipcast_transport_handoff_latency_seconds_count',
    'ipcast_transport_end_to_end_latency_seconds_count',
  ];

  it('has no sink or latency series (not a 0 that reads as a fault), while a transport with a sink keeps them', async () => {
    const stats = syntheticReceiver(['pipe', 'shm']);
    stats.transports.pipe!.sink = false;
    advance(stats, 4);
    const registry = createMetricsRegistry({ receiver: stats, defaultMetrics: false });
    const { parsed } = await scrape(registry);
    for (const name of SINK_ONLY) {
      expect(select(parsed, name, { transport: 'pipe' }), name).toEqual([]);
      expect(select(parsed, name, { transport: 'shm' }).length, name).toBeGreaterThan(0);
    }
    // What recv itself measures stays, for both.
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'pipe' })).toBe(expected('pipe', 4).chunks);
    expect(sample(parsed, 'ipcast_transport_handoff_chunks_total', { transport: 'shm' })).toBe(expected('shm', 4).chunks);
  });

  it('is marked in the dashboard snapshot and in the summary line', () => {
    const stats = syntheticReceiver(['pipe', 'shm']);
    stats.transports.pipe!.sink = false;
    advance(stats, 4);
    const snap = createSnapshotSource({ receiver: stats, version: '9.9.9', now: () => 1 })();
    expect(snap.transports.map((t) => [t.transport, t.sink])).toEqual([['pipe', false], ['shm', true]]);
    const line = summary(stats);
    expect(line).toMatch(/pipe: handed off \d+ chunks \(\d+ bytes\), dropped \d+, restarts \d+, sink verified and hand-off latency not measured/);
    expect(line).not.toMatch(/pipe:[^;]*(sink verified \d|p50)/);
    expect(line).toMatch(new RegExp(`shm: [^;]*sink verified ${stats.transports.shm!.sinkChunks} chunks, hand-off p50 \\d+ us p99 \\d+ us`));
  });
});

describe('metrics server', () => {
  async function start() {
    const stats = syntheticReceiver();
    const served = await serveMetrics('127.0.0.1:0', { receiver: stats }, { defaultMetrics: false, intervalMs: 100 });
    closers.push(() => served.close());
    return { stats, served };
  }

  it('serves /metrics, the dashboard files, and 404/405 for the rest', async () => {
    const { stats, served } = await start();
    expect(served.url).toBe(`http://127.0.0.1:${served.port}/`);
    expect(served.port).toBeGreaterThan(0);
    advance(stats, 3);

    const metrics = await fetch(new URL('metrics', served.url));
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(parseMetrics(await metrics.text()), 'ipcast_transport_handoff_bytes_total', { transport: 'msg' })).toBe(expected('msg', 3).bytes);

    const page = await fetch(served.url);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('dashboard.js');
    expect(html).not.toMatch(/https?:\/\//); // nothing external
    for (const [file, type] of [['dashboard.js', /^text\/javascript/], ['dashboard.css', /^text\/css/]] as const) {
      const r = await fetch(new URL(file, served.url));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(type);
      expect(await r.text()).not.toMatch(/https?:\/\/(?!localhost)/);
    }
    const snap = (await (await fetch(new URL('snapshot.json', served.url))).json()) as DashboardSnapshot;
    expect(snap.transports).toHaveLength(3);

    expect((await fetch(new URL('nope', served.url))).status).toBe(404);
    expect((await fetch(new URL('../../../../etc/passwd', served.url))).status).toBe(404);
    expect((await fetch(new URL('metrics', served.url), { method: 'POST' })).status).toBe(405);
  });

  it('pushes snapshots over /ws with moving figures, and close() ends the clients', async () => {
    const { stats, served } = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/ws`);
    const got: DashboardSnapshot[] = [];
    ws.on('message', (data) => got.push(JSON.parse(String(data)) as DashboardSnapshot));
    await once(ws, 'open');
    const timer = setInterval(() => advance(stats, 1), 50);
    closers.push(() => clearInterval(timer));
    const deadline = Date.now() + 5000;
    while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    clearInterval(timer);
    expect(got.length).toBeGreaterThanOrEqual(5);
    const last = got.at(-1)!;
    expect(last.transports.map((t) => t.transport)).toEqual(['pipe', 'shm', 'msg']);
    expect(last.transports[2]!.bytes).toBeGreaterThan(got[0]!.transports[2]!.bytes);
    expect(got.slice(1).some((s) => s.transports[1]!.bytesPerSecond > 0)).toBe(true);

    const closed = once(ws, 'close');
    await served.close();
    await closed;
    await expect(fetch(served.url)).rejects.toThrow();
  });

  it('refuses a WebSocket upgrade anywhere but /ws', async () => {
    const { served } = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/other`);
    const [err] = (await once(ws, 'error')) as [Error];
    expect(err.message).toMatch(/404/);
  });

  it('fails with one clear RuntimeError when the port is taken', async () => {
    const blocker: Server = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    closers.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const err = await startMetricsServer({ port, registry: new Registry(), snapshot: () => ({}) as DashboardSnapshot }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: 'ERR_METRICS_LISTEN', exitCode: 1 });
    expect((err as Error).message).toBe(`--metrics: address already in use: 127.0.0.1:${port} (EADDRINUSE)`);
  });

  it('rejects a bad --metrics address as a usage error', async () => {
    const err = await serveMetrics('localhost:http', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ code: 'ERR_BAD_ADDRESS', exitCode: 2 });
  });
});
