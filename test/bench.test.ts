/**
 * `ipcast bench`: a short real run over all three transports produces verified results with
 * sane numbers, the JSON shape of issue 6, a well-formed SVG chart, and leaves no System V
 * objects behind; bad flags exit 2 with one line; Ctrl-C leaves nothing behind either.
 * Speed targets are not asserted here (docs/benchmarks.md holds them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { renderChart, type BenchReport } from '../src/bench/index.js';
import { ChunkStream, fillStream } from '../src/bench/stream.js';
import type { RegistryEntry } from '../src/transport/registry.js';
import { listSysv, type SysvKind } from '../src/transport/sysvipc.js';
import { IPCAST_BIN, ipcast } from './helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipcast-bench-test-'));
  dirs.push(d);
  return d;
}

/** The objects the transports named in their registry files (IPCAST_IPC_REGISTRY=dir), with ctime. */
function registered(dir: string): { kind: SysvKind; id: number; ctime: number }[] {
  const out: { kind: SysvKind; id: number; ctime: number }[] = [];
  for (const f of readdirSync(dir)) {
    try {
      out.push(...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegistryEntry).objects);
    } catch {
      /* being written */
    }
  }
  return out;
}

/** Which of these objects still exist (same id and same ctime: not a later object reusing the id). */
function stillThere(objs: { kind: SysvKind; id: number; ctime: number }[]): string[] {
  return objs.filter((o) => listSysv(o.kind).some((x) => x.id === o.id && x.ctime === o.ctime)).map((o) => `${o.kind}:${o.id}`);
}

/** A well-formedness check of XML without a parser dependency: tags balance, attributes quoted. */
function checkXml(text: string): void {
  expect(text.startsWith('<?xml')).toBe(true);
  const stack: string[] = [];
  const body = text.replace(/<\?xml[^>]*\?>/, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
  // every '<' starts a tag we matched: no stray markup
  const tags = body.match(/</g)?.length ?? 0;
  const matched = [...body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)].length;
  expect(matched).toBe(tags);
}

describe('ipcast bench', () => {
  it('measures pipe, shm and msg against the plain-C baseline, verified, with JSON and a chart', async () => {
    const dir = tmp();
    const json = join(dir, 'bench.json');
    const svg = join(dir, 'bench.svg');
    const r = await ipcast(['bench', '--seconds', '1', '--sizes', '1316,65536', '--json', json, '--chart', svg], { timeout: 90_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^transport +chunk +mode +MB\/s +chunks\/s +p50 µs +p99 µs +C MB\/s/m);
    expect(r.stdout).toMatch(/msg limits in force: msgmax \d+ B, msgmnb \d+ B, the queue's msg_qbytes \d+ B/);
    expect(r.stdout).toMatch(/memcpy: \d+ MB\/s/);

    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.memcpyBytesPerSecond).toBeGreaterThan(0);
    expect(report.results).toHaveLength(3 * 2 * 2);
    for (const t of ['pipe', 'shm', 'msg']) {
      for (const size of [1316, 65536]) {
        for (const mode of ['max', 'paced']) {
          const row = report.results.find((x) => x.transport === t && x.chunkBytes === size && x.mode === mode);
          expect(row, `${t} ${size} ${mode}`).toBeDefined();
          expect(row).toMatchObject({ verified: true });
          for (const k of ['bytes', 'seconds', 'bytesPerSecond', 'baselineBytesPerSecond', 'latencyP50Us', 'latencyP99Us'] as const) {
            expect(row![k], `${t} ${size} ${mode} ${k}`).toBeGreaterThan(0);
          }
          expect(Number.isFinite(row!.ratioToBaseline)).toBe(true);
          expect(row!.ratioToBaseline).toBeGreaterThan(0);
          expect(row!.bytes % size).toBe(0);
          expect(row!.latencyP99Us).toBeGreaterThanOrEqual(row!.latencyP50Us);
        }
      }
    }
    // paced runs go at the asked rate (8 Mbit/s), not at full speed
    for (const row of report.results.filter((x) => x.mode === 'paced')) {
      expect(row.bytesPerSecond).toBeLessThan(2e6);
      expect(row.baselineBytesPerSecond).toBeLessThan(2e6);
    }
    expect(report.msgLimits!.msgmax).toBeGreaterThan(0);
    expect(report.msgLimits!.msgQbytes).toBeGreaterThan(0);

    const chart = readFileSync(svg, 'utf8');
    checkXml(chart);
    expect(chart).toMatch(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const t of ['pipe', 'shm', 'msg']) expect(chart).toContain(`>${t}</text>`);
    expect(chart).not.toMatch(/<script|href=/);
  }, 120_000);

  it('rejects bad flags with exit 2 and one line', async () => {
    for (const args of [
      ['--transports', 'pipe,tcp'],
      ['--sizes', '0'],
      ['--sizes', '1316,abc'],
      ['--seconds', '-1'],
      ['--rate', 'fast'],
      ['--rate', 'max'],
      ['--bogus'],
      ['extra'],
    ]) {
      const r = await ipcast(['bench', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ipcast: /);
    }
  });

  it('leaves nothing in ipcs when interrupted (SIGINT) in the middle of a run', async () => {
    for (const transport of ['shm', 'msg']) {
      const reg = tmp();
      const child = spawn(process.execPath, [IPCAST_BIN, 'bench', '--transports', transport, '--sizes', '1316', '--seconds', '5'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, IPCAST_IPC_REGISTRY: reg },
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // wait until the Node run is under way (its transport is registered), then interrupt
      let objs: ReturnType<typeof registered> = [];
      const t0 = Date.now();
      while (objs.length === 0 && Date.now() - t0 < 15_000) {
        await new Promise((r) => setTimeout(r, 50));
        objs = registered(reg);
      }
      expect(objs.length, err).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code, err).toBe(1);
      expect(err).toMatch(/interrupted/);
      expect(stillThere(objs)).toEqual([]);
      expect(readdirSync(reg)).toEqual([]);
    }
  }, 60_000);
});

describe('bench stream and chart', () => {
  it('is the same mulberry32 stream as native/baseline.c and test/helpers/rng', () => {
    const a = new Uint8Array(16);
    fillStream(a, 1);
    // first word of mulberry32(1): the helper in test/helpers/rng.ts yields the same value
    const word = (a[0]! | (a[1]! << 8) | (a[2]! << 16) | (a[3]! << 24)) >>> 0;
    expect(word / 4294967296).toBeCloseTo(0.6270739405881613, 12);
    const s = new ChunkStream(1316);
    expect(s.chunks).toHaveLength(Math.floor((4 * 1024 * 1024) / 1316));
    expect(s.chunk(s.chunks.length)).toBe(s.chunk(0));
    expect(s.batch(3, 2)).toEqual([s.chunk(3), s.chunk(4)]);
  });

  it('escapes text in the chart', () => {
    const report: BenchReport = {
      memcpyBytesPerSecond: 1e10,
      results: [],
      date: '2025-01-01',
      machine: { nproc: 2, cpu: 'A <weird> & "cpu"', kernel: 'x', node: 'v20' },
      options: { transports: ['pipe'], sizes: [1316], seconds: 1, rateBitsPerSecond: 8e6 },
    };
    const svg = renderChart(report);
    checkXml(svg);
    expect(svg).toContain('A &lt;weird&gt; &amp; &quot;cpu&quot;');
  });
});
