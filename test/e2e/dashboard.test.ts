/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The page.evaluate() callbacks run in Chromium, where the DOM exists.
/**
 * The live dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser is downloaded), fed by a real relay on loopback: `ipcast send`
 * plays a folder of two channels to `ipcast recv --transport pipe,shm,msg --metrics`. The page
 * loads with no external resource, the three transports' numbers move between two reads as
 * the stream moves, and once the sender has finished the page shows exactly the channel's
 * bytes and chunks for every transport, as /metrics does. A screenshot is saved to
 * test-artifacts/dashboard.png. And, served from a synthetic receiver, a transport with no sink
 * (pipe + --exec) reads "not measured" and has no latency line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serveMetrics } from '../../src/metrics/index.js';
import { TRANSPORT_KINDS } from '../../src/transport/stats.js';
import { advance, syntheticReceiver } from '../helpers/metrics-synthetic.js';
import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast, type Proc } from '../helpers/cli.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-quic',
  '--disable-component-update',
  '--disable-sync',
];
/** Channel 1 (played): 4 MB at 4 Mbit/s, about 8 s, in 1316-byte chunks. */
const JAZZ_BYTES = 4_000_000;
const JAZZ_CHUNKS = Math.ceil(JAZZ_BYTES / 1316);
const GUIDE_NAMES = ['jazz', 'news'];

describe('dashboard in headless Chromium', () => {
  let browser: Browser | undefined;
  let recv: Proc | undefined;
  let url = '';
  let dir = '';
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-dashboard-'));
    mkdirSync(join(dir, 'jazz'));
    writeFileSync(join(dir, 'jazz', 'desc.txt'), 'Smooth jazz\n');
    writeFileSync(join(dir, 'jazz', 'a.bin'), randomBytes(JAZZ_BYTES));
    writeFileSync(join(dir, 'news.bin'), randomBytes(200_000));
    port = await freePort('udp');
    recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm,msg', '--channel', '1', '--metrics', '127.0.0.1:0']);
    url = /metrics (http:\/\/127\.0\.0\.1:\d+\/)/.exec(await recv.waitFor(/metrics http:\/\/127\.0\.0\.1:\d+\//))![0].replace(/^metrics /, '');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('shows pipe, shm and msg side by side with moving numbers from a real recv, then exactly what was sent', async () => {
    const send = spawnIpcast(['send', dir, '--rate', '4M', '--to', `udp://127.0.0.1:${port}`]);
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    const external: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith(url.replace('http', 'ws')) && !r.url().startsWith('data:')) external.push(r.url());
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });

    await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 2, undefined, { timeout: 10_000 });

    const read = () =>
      page.evaluate((kinds) => {
        const out: Record<string, Record<string, string>> = {};
        for (const k of kinds) {
          const col = document.querySelector(`[data-transport="${k}"]`)!;
          out[k] = { state: (col as HTMLElement).dataset.state ?? '' };
          for (const f of ['bytes', 'chunks', 'mbps', 'p50', 'p99', 'dropped', 'restarts', 'sinkErrors']) {
            out[k]![f] = col.querySelector(`[data-field="${f}"]`)!.textContent ?? '';
          }
        }
        return out;
      }, TRANSPORT_KINDS as string[]);
    const snapshots = async () => Number(await page.evaluate(() => document.body.dataset.snapshots));

    // While the stream plays (channel 1 lasts about 8 s).
    const first = await read();
    const seen = await snapshots();
    await page.waitForFunction((n) => Number(document.body.dataset.snapshots) >= n + 3, seen, { timeout: 10_000 });
    const second = await read();
    expect(send.proc.exitCode, 'the stream ended before the second read').toBeNull();

    const num = (s: string) => Number(s.replace(/,/g, ''));
    // A rate as shown, in the unit that fits it ("500 kB/s"), in MB/s.
    const mbps = (s: string) => {
      const m = /^([\d.]+) ([kMG]?)B\/s$/.exec(s);
      return m ? (Number(m[1]) * { '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G']) / 1e6 : NaN;
    };
    for (const k of TRANSPORT_KINDS) {
      expect(first[k]!.state, k).toBe('up');
      expect(num(second[k]!.bytes), `${k} bytes move`).toBeGreaterThan(num(first[k]!.bytes));
      expect(num(second[k]!.chunks), `${k} chunks move`).toBeGreaterThan(num(first[k]!.chunks));
      // 4 Mbit/s is 0.5 MB/s: the same stream through each transport.
      expect(mbps(second[k]!.mbps), `${k} throughput`).toBeGreaterThan(0.1);
      expect(mbps(second[k]!.mbps), `${k} throughput`).toBeLessThan(2);
      expect(second[k]!.p99).toMatch(/µs|ms/);
    }

    // Charts were drawn: the throughput canvas of each column has non-blank pixels.
    const drawn = await page.evaluate((kinds) =>
      kinds.map((k) => {
        const c = document.querySelector<HTMLCanvasElement>(`[data-transport="${k}"] canvas[data-chart="throughput"]`)!;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) ink++;
        return ink;
      }),
    TRANSPORT_KINDS as string[]);
    for (const ink of drawn) expect(ink).toBeGreaterThan(100);

    // The guide the sender sends, with the played channel marked.
    const rows = await page.$$eval('#guide-rows tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[1])).toEqual(GUIDE_NAMES);
    expect(await page.getAttribute('#guide-rows tr[data-channel="1"]', 'class')).toBe('playing');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // The sender has played both channels and sent end of stream: the page settles on exactly
    // channel 1's bytes and chunks for every transport, nothing dropped, lost or corrupt,
    // and on what /metrics says.
    const s = await send.proc;
    expect(s.exitCode, send.stderrText()).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    const settled = await snapshots();
    await page.waitForFunction((n) => Number(document.body.dataset.snapshots) >= n + 2, settled, { timeout: 10_000 });
    const last = await read();
    const metrics = await (await fetch(new URL('metrics', url))).text();
    const metric = (name: string, k: string) => Number(new RegExp(`^${name}\\{transport="${k}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    for (const k of TRANSPORT_KINDS) {
      expect({ k, bytes: num(last[k]!.bytes), chunks: num(last[k]!.chunks), dropped: last[k]!.dropped, sinkErrors: last[k]!.sinkErrors }).toEqual({
        k,
        bytes: JAZZ_BYTES,
        chunks: JAZZ_CHUNKS,
        dropped: '0',
        sinkErrors: '0 / 0',
      });
      expect(metric('ipcast_transport_handoff_chunks_total', k), k).toBe(JAZZ_CHUNKS);
      expect(metric('ipcast_transport_handoff_bytes_total', k), k).toBe(JAZZ_BYTES);
      expect(metric('ipcast_transport_sink_chunks_total', k), k).toBe(JAZZ_CHUNKS);
    }
    for (const f of ['lost', 'duplicates', 'corrupt']) expect(await page.textContent(`#network [data-field="${f}"]`), f).toBe('0');

    expect(external).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
    recv!.proc.kill('SIGTERM');
    expect((await recv!.proc).exitCode, recv!.stderrText()).toBe(0);
  }, 60_000);

  it('says "not measured" for a transport with no sink (pipe + --exec) and draws no latency line for it', async () => {
    // A served synthetic receiver: pipe's decoder reads the pipe itself, shm has its sink.
    const stats = syntheticReceiver(['pipe', 'shm']);
    stats.transports.pipe!.sink = false;
    const served = await serveMetrics('127.0.0.1:0', { receiver: stats }, { defaultMetrics: false, intervalMs: 100 });
    const timer = setInterval(() => advance(stats, 1), 50);
    try {
      const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(served.url, { waitUntil: 'load', timeout: 15_000 });
      await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 6, undefined, { timeout: 10_000 });
      const fields = await page.evaluate(() =>
        ['pipe', 'shm'].map((k) =>
          ['p50', 'p99', 'e2eP99', 'sinkErrors', 'chunks'].map((f) => document.querySelector(`[data-transport="${k}"] [data-field="${f}"]`)!.textContent),
        ),
      );
      expect(fields[0]!.slice(0, 4)).toEqual(['not measured', 'not measured', 'not measured', 'not measured']);
      expect(Number(fields[0]![4]!.replace(/,/g, ''))).toBeGreaterThan(0); // what recv hands off is still counted
      expect(fields[1]!.slice(0, 3).every((v) => /µs|ms/.test(v!)), String(fields[1])).toBe(true);
      // Pixels in the transport's own line color (pipe #2f6fdf blue, shm #1a9e6a green; the axes
      // and labels are grey): pipe draws throughput but no latency line, shm draws both.
      const ink = await page.evaluate(() => {
        const count = (k: string, chart: string): number => {
          const c = document.querySelector<HTMLCanvasElement>(`[data-transport="${k}"] canvas[data-chart="${chart}"]`)!;
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < px.length; i += 4) {
            const [r, g, b, a] = [px[i]!, px[i + 1]!, px[i + 2]!, px[i + 3]!];
            if (a > 64 && (k === 'pipe' ? b - r > 100 : g - r > 80 && g > b)) n++; // a > 64: not the faint edge of grey text
          }
          return n;
        };
        return { pipeThroughput: count('pipe', 'throughput'), pipeLatency: count('pipe', 'latency'), shmLatency: count('shm', 'latency') };
      });
      expect(ink.pipeThroughput, JSON.stringify(ink)).toBeGreaterThan(0);
      expect(ink.shmLatency, JSON.stringify(ink)).toBeGreaterThan(0);
      expect(ink.pipeLatency, JSON.stringify(ink)).toBe(0);
      await page.close();
    } finally {
      clearInterval(timer);
      await served.close();
    }
  }, 30_000);
});
