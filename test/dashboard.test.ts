/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The page.evaluate() callbacks run in Chromium, where the DOM exists.
/**
 * The live dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser is downloaded): the page loads with no external resource,
 * the three transports' numbers change between two reads as the stream moves, and a
 * screenshot is saved to test-artifacts/dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serveMetrics, type ServedMetrics } from '../src/shared/metrics/index.js';
import { TRANSPORT_KINDS } from '../src/shared/stats.js';
import { advance, CHUNK_BYTES, CHUNKS_PER_STEP, GUIDE, syntheticReceiver } from './fixtures/metrics-synthetic.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
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

describe('dashboard in headless Chromium', () => {
  let browser: Browser | undefined;
  let served: ServedMetrics | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stats = syntheticReceiver();

  beforeAll(async () => {
    // TODO(issue 6): like test/prometheus.test.ts, this can point at a real `ipcast recv
    // --transport pipe,shm,msg --metrics 127.0.0.1:PORT` once it exists; only served.url is used.
    served = await serveMetrics('127.0.0.1:0', { receiver: stats }, { defaultMetrics: false });
    advance(stats, 1);
    timer = setInterval(() => advance(stats, 1), 50);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 40_000);

  afterAll(async () => {
    clearInterval(timer);
    await browser?.close();
    await served?.close();
  }, 20_000);

  it('shows pipe, shm and msg side by side with moving numbers, the network and the guide', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    const external: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(served!.url) && !r.url().startsWith(served!.url.replace('http', 'ws')) && !r.url().startsWith('data:')) external.push(r.url());
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });

    await page.goto(served!.url, { waitUntil: 'load', timeout: 15_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.body.dataset.snapshots ?? 0) >= 2, undefined, { timeout: 10_000 });

    const read = () =>
      page.evaluate((kinds) => {
        const out: Record<string, Record<string, string>> = {};
        for (const k of kinds) {
          const col = document.querySelector(`[data-transport="${k}"]`)!;
          out[k] = { state: (col as HTMLElement).dataset.state ?? '' };
          for (const f of ['bytes', 'chunks', 'mbps', 'p50', 'p99', 'dropped']) {
            out[k]![f] = col.querySelector(`[data-field="${f}"]`)!.textContent ?? '';
          }
        }
        return out;
      }, TRANSPORT_KINDS as string[]);

    const first = await read();
    const seen = Number(await page.evaluate(() => document.body.dataset.snapshots));
    await page.waitForFunction((n) => Number(document.body.dataset.snapshots) >= n + 3, seen, { timeout: 10_000 });
    const second = await read();

    const num = (s: string) => Number(s.replace(/,/g, ''));
    for (const k of TRANSPORT_KINDS) {
      expect(first[k]!.state, k).toBe('up');
      expect(num(second[k]!.bytes), `${k} bytes move`).toBeGreaterThan(num(first[k]!.bytes));
      expect(num(second[k]!.chunks), `${k} chunks move`).toBeGreaterThan(num(first[k]!.chunks));
      expect(num(second[k]!.mbps), `${k} throughput`).toBeGreaterThan(0);
      expect(second[k]!.p99).toMatch(/µs|ms/);
    }
    // The synthetic transports move at 10, 20 and 30 chunks per step: msg > shm > pipe.
    expect(num(second.msg!.mbps)).toBeGreaterThan(num(second.shm!.mbps));
    expect(num(second.shm!.mbps)).toBeGreaterThan(num(second.pipe!.mbps));
    const mbpsPerChunkPerStep = (20 * CHUNK_BYTES) / 1e6; // 20 steps a second at most
    expect(num(second.msg!.mbps)).toBeLessThanOrEqual(CHUNKS_PER_STEP.msg * mbpsPerChunkPerStep * 1.5);

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

    // Network figures and the guide.
    expect(Number(await page.textContent('#network [data-field="lost"]'))).toBeGreaterThanOrEqual(0);
    const rows = await page.$$eval('#guide-rows tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[1])).toEqual(GUIDE.map((c) => c.name));
    expect(await page.getAttribute('#guide-rows tr[data-channel="1"]', 'class')).toBe('playing');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    expect(external).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
