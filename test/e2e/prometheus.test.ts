/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes ipcast's /metrics on loopback;
 * the three transports' figures are read back through its HTTP query API.
 *
 * The figures come from a MetricsSource, and the same check runs on two: a synthetic
 * ReceiverStats that the test moves on (exact, known figures), and a real relay
 * (`ipcast send tone` → loopback multicast → `ipcast recv --transport pipe,shm,msg --metrics`).
 * The check only needs a /metrics URL, a way to stop the stream, and /metrics read directly
 * once it has stopped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serveMetrics } from '../../src/metrics/index.js';
import { TRANSPORT_KINDS } from '../../src/transport/stats.js';
import { parseMetrics, sample, select } from '../helpers/metrics-parse.js';
import { advance, syntheticReceiver } from '../helpers/metrics-synthetic.js';
import { spawnIpcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const PROMETHEUS = '/usr/bin/prometheus';

interface MetricsSource {
  /** The URL Prometheus scrapes: http://127.0.0.1:PORT/metrics */
  metricsUrl: string;
  /** Stops the stream: afterwards the figures no longer change. */
  stopStream(): Promise<void>;
  close(): Promise<void>;
}

/** A synthetic receiver fanning out to pipe, shm and msg, moved on every 50 ms. */
async function startSyntheticSource(): Promise<MetricsSource> {
  const stats = syntheticReceiver();
  const served = await serveMetrics('127.0.0.1:0', { receiver: stats });
  let timer: NodeJS.Timeout | undefined = setInterval(() => advance(stats, 1), 50);
  const stopStream = async () => {
    clearInterval(timer);
    timer = undefined;
  };
  return {
    metricsUrl: new URL('metrics', served.url).href,
    stopStream,
    close: async () => {
      await stopStream();
      await served.close();
    },
  };
}

/**
 * A real relay: `ipcast send tone` to a loopback multicast group (interface 127.0.0.1, TTL 0)
 * and `ipcast recv --transport pipe,shm,msg --metrics 127.0.0.1:0`. stopStream() stops the
 * sender (which sends end of stream) and waits until recv's figures stop moving; recv keeps
 * serving /metrics until close().
 */
async function startRelaySource(): Promise<MetricsSource> {
  // A group and port of our own: other tests on this machine may stream at the same time.
  const group = `239.255.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const recv = spawnIpcast(['recv', `udp://@${group}:${port}?iface=127.0.0.1`, '--transport', 'pipe,shm,msg', '--metrics', '127.0.0.1:0']);
  const url = (await recv.waitFor(/metrics http:\/\/127\.0\.0\.1:\d+\//, 15_000)).slice('metrics '.length);
  const send = spawnIpcast(['send', 'tone', '--to', `udp://${group}:${port}?iface=127.0.0.1&ttl=0`, '--rate', '2M']);
  const metricsUrl = new URL('metrics', url).href;
  const handedOff = async () =>
    JSON.stringify(
      select(parseMetrics(await (await fetch(metricsUrl)).text()), 'ipcast_transport_handoff_bytes_total').map((s) => [s.labels.transport, s.value]),
    );
  let stopped = false;
  const stopStream = async () => {
    if (stopped) return;
    stopped = true;
    send.proc.kill('SIGTERM');
    await send.proc;
    let last = '';
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      const now = await handedOff();
      if (now === last) return;
      last = now;
    }
    throw new Error('ipcast recv figures kept moving after the sender stopped');
  };
  return {
    metricsUrl,
    stopStream,
    close: async () => {
      send.proc.kill('SIGTERM');
      await send.proc;
      recv.proc.kill('SIGTERM');
      await recv.proc;
    },
  };
}

const SOURCES: Array<[string, () => Promise<MetricsSource>]> = [
  ['a synthetic receiver', startSyntheticSource],
  ['a real ipcast send → ipcast recv --transport pipe,shm,msg relay', startRelaySource],
];


async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.each(SOURCES)('a real Prometheus scrapes %s', (_name, startSource) => {
  let dir: string;
  let source: MetricsSource | undefined;
  let prometheus: ResultPromise | undefined;
  let promUrl = '';
  let promLog = '';

  async function query(expr: string): Promise<VectorResult[]> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data?: { resultType: string; result: VectorResult[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data!.result;
  }

  /** Polls until check() returns true (bounded), with Prometheus's log in the failure. */
  async function waitForQuery(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    let lastError: unknown;
    const exited = (): boolean => prometheus?.exitCode !== undefined && prometheus.exitCode !== null;
    const ok = await waitFor(
      async () => {
        if (exited()) return true; // said below
        try {
          return await check();
        } catch (err) {
          lastError = err;
          return false;
        }
      },
      timeoutMs,
      250,
    );
    if (ok && !exited()) return;
    throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}\nprometheus log:\n${promLog.slice(-3000)}`);
  }

  const byTransport = (rows: VectorResult[]) => Object.fromEntries(rows.map((r) => [r.metric.transport, Number(r.value[1])]));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipcast-prom-'));
    source = await startSource();
    const target = new URL(source.metricsUrl);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: ipcast',
        `    metrics_path: ${target.pathname}`,
        '    static_configs:',
        `      - targets: ['${target.host}']`,
        '',
      ].join('\n'),
    );
    // The port is picked free, then handed over: on a busy machine it can be taken in between, so retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort('tcp');
      promUrl = `http://127.0.0.1:${port}`;
      promLog = '';
      prometheus = execa(
        PROMETHEUS,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { reject: false, stdin: 'ignore', all: true, buffer: false, forceKillAfterDelay: 3000, cleanup: true },
      );
      prometheus.all?.on('data', (d: Buffer) => {
        promLog += d.toString();
      });
      try {
        await waitForQuery('prometheus to be ready', async () => (await fetch(`${promUrl}/-/ready`)).ok, 20_000);
        return;
      } catch (err) {
        prometheus.kill('SIGKILL');
        await prometheus;
        prometheus = undefined;
        if (!/address already in use/.test(promLog) || attempt === 2) throw err;
      }
    }
  }, 60_000);

  afterAll(async () => {
    if (prometheus) {
      prometheus.kill('SIGTERM');
      await prometheus;
    }
    await source?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('scrapes the three transports and reads back exactly what /metrics says', async () => {
    await waitForQuery('the ipcast target to be up', async () => {
      const up = await query('up{job="ipcast"}');
      return up.length === 1 && up[0]!.value[1] === '1';
    });

    // While the stream flows, every transport's bytes counter rises (rate() needs two scrapes).
    await waitForQuery('a positive hand-off rate on pipe, shm and msg', async () => {
      const rates = byTransport(await query('sum by (transport) (rate(ipcast_transport_handoff_bytes_total{job="ipcast"}[5s]))'));
      return TRANSPORT_KINDS.every((k) => (rates[k] ?? 0) > 0);
    });
    const p99 = byTransport(
      await query('histogram_quantile(0.99, sum by (transport, le) (rate(ipcast_transport_handoff_latency_seconds_bucket{job="ipcast"}[5s])))'),
    );
    for (const k of TRANSPORT_KINDS) expect(p99[k], `hand-off p99 of ${k}`).toBeGreaterThan(0);

    // Stop the stream, read /metrics ourselves, and wait for Prometheus to hold the same figures.
    await source!.stopStream();
    await sleep(300);
    const direct = parseMetrics(await (await fetch(source!.metricsUrl)).text());
    const names = [
      'ipcast_transport_handoff_bytes_total',
      'ipcast_transport_handoff_chunks_total',
      'ipcast_transport_handoff_latency_seconds_count',
      'ipcast_transport_end_to_end_latency_seconds_count',
    ];
    const want = Object.fromEntries(
      names.map((n) => [n, Object.fromEntries(TRANSPORT_KINDS.map((k) => [k, sample(direct, n, { transport: k })]))]),
    );
    for (const k of TRANSPORT_KINDS) expect(want.ipcast_transport_handoff_bytes_total![k]).toBeGreaterThan(0);

    let got: Record<string, Record<string, number>> = {};
    await waitForQuery(
      'Prometheus to hold the final figures',
      async () => {
        got = {};
        for (const n of names) got[n] = byTransport(await query(`${n}{job="ipcast"}`));
        return names.every((n) => TRANSPORT_KINDS.every((k) => got[n]![k] === want[n]![k]));
      },
      15_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nwanted ${JSON.stringify(want)}\ngot ${JSON.stringify(got)}`);
    });
    for (const n of names) for (const k of TRANSPORT_KINDS) expect(got[n]![k], `${n}{transport=${k}}`).toBe(want[n]![k]);

    // Labels survive the trip: decode errors by reason, drops by reason.
    const reasons = await query('ipcast_receiver_decode_errors_total{job="ipcast"}');
    expect(reasons.map((r) => r.metric.reason).sort()).toContain('checksum_mismatch');
    const drops = await query('ipcast_transport_dropped_chunks_total{job="ipcast",reason="slow_child"}');
    expect(drops.map((r) => r.metric.transport).sort()).toEqual(['msg', 'pipe', 'shm']);
  }, 60_000);
});
