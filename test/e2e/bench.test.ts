/**
 * `ipcast bench`: a short real run over all three transports produces verified results with
 * sane numbers, the JSON shape of issues 6 and 11 (CPU seconds, spin, suspect), a well-formed
 * SVG chart, and leaves no System V objects behind; --spin-us reaches both writers; Node and C
 * alternate which goes first (injected fake runs); bad flags exit 2 with one line; Ctrl-C
 * leaves nothing behind either. Speed targets are not asserted here (docs/benchmarks.md).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { runBaseline } from '../../src/bench/baseline.js';
import { formatTable, renderChart, runBench, SUSPECT_RATIO, type BenchReport, type BenchRow, type RunResult } from '../../src/bench/index.js';
import { batchFor, runNode, type NodeRunOptions } from '../../src/bench/node-run.js';
import { ChunkStream, fillStream } from '../../src/bench/stream.js';
import type { RegistryEntry } from '../../src/transport/registry.js';
import { listSysv, type SysvKind } from '../../src/transport/sysvipc.js';
import { ipcast, killAll, spawnIpcast } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
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

/** The spin a writer runs with when asked for `us`: the engine turns it off on one CPU. */
function effectiveSpin(us: number): number {
  return availableParallelism() < 2 ? 0 : us;
}

/** The CPU figures of a row are real and add up. */
function checkCpu(row: BenchRow, what: string): void {
  for (const k of ['writerCpuSeconds', 'readerCpuSeconds', 'baselineWriterCpuSeconds', 'baselineReaderCpuSeconds'] as const) {
    expect(row[k], `${what} ${k}`).toBeGreaterThan(0);
    // no more than the run's wall time on every CPU (plus the writer's set-up: spawn, ready)
    expect(row[k], `${what} ${k}`).toBeLessThan(row.seconds * availableParallelism() + 1);
  }
  expect(row.bytesPerCpuSecond / (row.bytes / (row.writerCpuSeconds + row.readerCpuSeconds))).toBeCloseTo(1, 3);
  expect(row.baselineBytesPerCpuSecond).toBeGreaterThan(0);
  expect(row.suspect, what).toBe(row.ratioToBaseline > SUSPECT_RATIO);
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
    // the default spin is the engine's 30 µs unless IPCAST_WRITE_SPIN_US says otherwise: pin it
    const r = await ipcast(['bench', '--seconds', '0.3', '--sizes', '1316,65536', '--json', json, '--chart', svg], {
      timeout: 90_000,
      env: { IPCAST_WRITE_SPIN_US: '' },
    });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^transport +chunk +mode +MB\/s +chunks\/s +p50 µs +p99 µs +C MB\/s +C p99 µs +ratio +MB\/CPU-s +C MB\/CPU-s +verified$/m);
    expect(r.stdout).toMatch(/msg limits in force: msgmax \d+ B, msgmnb \d+ B, the queue's msg_qbytes \d+ B/);
    expect(r.stdout).toMatch(/memcpy: \d+ MB\/s/);
    expect(r.stdout).toMatch(/wait policy: both writers retry a full transport up to 30 µs/);

    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.memcpyBytesPerSecond).toBeGreaterThan(0);
    expect(report.options.spinUs).toBe(30);
    expect(report.results).toHaveLength(3 * 2 * 2);
    // a suspect row is marked in the table, with the footnote that explains the mark
    const suspect = report.results.filter((x) => x.suspect);
    expect(r.stdout.includes('! ratio above 1.10')).toBe(suspect.length > 0);
    for (const x of suspect) expect(r.stdout).toMatch(new RegExp(`^${x.transport} +${x.chunkBytes} +${x.mode} .* ${x.ratioToBaseline.toFixed(2)}! `, 'm'));
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
          expect(row!.spinUs).toBe(effectiveSpin(30));
          expect(row!.batch).toBe(mode === 'max' ? batchFor(size) : 1);
          checkCpu(row!, `${t} ${size} ${mode}`);
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

  it('--spin-us reaches both writers and wins over IPCAST_WRITE_SPIN_US, which is the default without it', async () => {
    const dir = tmp();
    for (const [args, spin] of [
      [['--spin-us', '0'], 0],
      [[], 7],
    ] as const) {
      const json = join(dir, `spin-${spin}.json`);
      const r = await ipcast(['bench', '--transports', 'msg', '--sizes', '65536', '--seconds', '0.2', ...args, '--json', json], {
        timeout: 60_000,
        env: { IPCAST_WRITE_SPIN_US: '7' },
      });
      // both writers report the spin they ran with; the bench fails (exit 1) when they differ
      expect(r.exitCode, r.stderr).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
      expect(report.options.spinUs).toBe(spin);
      expect(report.results).toHaveLength(2);
      for (const row of report.results) expect(row.spinUs).toBe(effectiveSpin(spin));
    }
  }, 60_000);

  it('each writer reports the spin and batch it ran with, and its CPU time (ipcast-baseline JSON, the addon\'s info)', async () => {
    const o = { transport: 'shm', chunkBytes: 65536, mode: 'max', seconds: 0.2, rate: 8e6, spinUs: 0 } as const;
    const base = await runBaseline(o);
    const node = await runNode(o satisfies NodeRunOptions);
    for (const [who, run] of [
      ['plain C', base],
      ['ipcast', node],
    ] as [string, RunResult][]) {
      expect(run.verified, `${who}: ${run.problem}`).toBe(true);
      expect(run.spinUs, who).toBe(0);
      expect(run.batch, who).toBe(batchFor(65536));
      expect(run.writerCpuSeconds, who).toBeGreaterThan(0);
      expect(run.readerCpuSeconds, who).toBeGreaterThan(0);
    }
    const spun = await runBaseline({ ...o, spinUs: 250 });
    expect(spun.spinUs).toBe(effectiveSpin(250));
  }, 30_000);

  it('rejects bad flags with exit 2 and one line', async () => {
    for (const args of [
      ['--transports', 'pipe,tcp'],
      ['--sizes', '0'],
      ['--sizes', '1316,abc'],
      ['--seconds', '-1'],
      ['--rate', 'fast'],
      ['--rate', 'max'],
      ['--spin-us', '-1'],
      ['--spin-us', 'abc'],
      ['--spin-us', '1.5'],
      ['--spin-us', '10001'],
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
      const bench = spawnIpcast(['bench', '--transports', transport, '--sizes', '1316', '--seconds', '5'], { env: { IPCAST_IPC_REGISTRY: reg } });
      // wait until the Node run is under way (its transport is registered), then interrupt
      let objs: ReturnType<typeof registered> = [];
      await waitFor(() => (objs = registered(reg)).length > 0, 15_000, 50);
      expect(objs.length, bench.stderrText()).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      bench.proc.kill('SIGINT');
      const { exitCode } = await bench.proc;
      expect(exitCode, bench.stderrText()).toBe(1);
      expect(bench.stderrText()).toMatch(/interrupted/);
      expect(stillThere(objs)).toEqual([]);
      expect(readdirSync(reg)).toEqual([]);
    }
  }, 60_000);
});

describe('bench with injected runs', () => {
  /** A fake run: `bytesPerSecond` MB/s for 1 s, with fixed CPU times; `calls` records the order. */
  function fakes(calls: string[], speed: (who: 'node' | 'c', o: { chunkBytes: number; mode: string }) => number, cSpin?: number) {
    const result = (who: 'node' | 'c', o: { transport: string; chunkBytes: number; mode: string; spinUs?: number }): RunResult => {
      calls.push(`${who} ${o.transport} ${o.chunkBytes} ${o.mode}`);
      const bytesPerSecond = speed(who, o) * 1e6;
      return {
        transport: o.transport as RunResult['transport'],
        chunkBytes: o.chunkBytes,
        mode: o.mode as RunResult['mode'],
        bytes: bytesPerSecond,
        chunks: Math.round(bytesPerSecond / o.chunkBytes),
        seconds: 1,
        bytesPerSecond,
        latencyP50Us: 10,
        latencyP99Us: 20,
        verified: true,
        batch: 1,
        spinUs: who === 'c' && cSpin !== undefined ? cSpin : o.spinUs!,
        writerCpuSeconds: who === 'node' ? 0.75 : 0.5,
        readerCpuSeconds: 0.25,
      };
    };
    return {
      node: async (o: NodeRunOptions) => result('node', o),
      baseline: async (o: Parameters<typeof runBaseline>[0]) => result('c', o),
      memcpy: async () => 5e9,
    };
  }

  it('alternates which writer goes first, across cases with --repeat 1 and per repetition with --repeat N', async () => {
    const calls: string[] = [];
    await runBench({ transports: ['pipe'], sizes: [1316, 65536], seconds: 1, rate: 8e6, runners: fakes(calls, () => 100) });
    expect(calls).toEqual([
      'node pipe 1316 max',
      'c pipe 1316 max',
      'c pipe 1316 paced',
      'node pipe 1316 paced',
      'node pipe 65536 max',
      'c pipe 65536 max',
      'c pipe 65536 paced',
      'node pipe 65536 paced',
    ]);
    calls.length = 0;
    const report = await runBench({ transports: ['shm'], sizes: [1316], seconds: 1, rate: 8e6, repeat: 3, runners: fakes(calls, () => 100) });
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['node', 'c', 'c', 'node', 'node', 'c', 'c', 'node', 'node', 'c', 'c', 'node']);
    expect(report.results.map((r) => r.repeat)).toEqual([3, 3]);
  });

  it('reports CPU cost and spin per row, and marks a ratio above 1.10 as suspect', async () => {
    const calls: string[] = [];
    // Node 25 % faster than C at full speed for 1316 B: suspect; 10 % faster at 64 KiB: not
    const speed = (who: 'node' | 'c', o: { chunkBytes: number; mode: string }) =>
      who === 'c' ? 100 : o.mode === 'paced' ? 100 : o.chunkBytes === 1316 ? 125 : 110;
    const report = await runBench({ transports: ['pipe'], sizes: [1316, 65536], seconds: 1, rate: 8e6, spinUs: 12, runners: fakes(calls, speed) });
    expect(report.failures).toBeUndefined();
    expect(report.options.spinUs).toBe(12);
    const [a, , b] = report.results;
    expect(a).toMatchObject({ chunkBytes: 1316, mode: 'max', ratioToBaseline: 1.25, suspect: true, spinUs: 12 });
    expect(b).toMatchObject({ chunkBytes: 65536, mode: 'max', ratioToBaseline: 1.1, suspect: false });
    expect(a).toMatchObject({ writerCpuSeconds: 0.75, readerCpuSeconds: 0.25, baselineWriterCpuSeconds: 0.5, baselineReaderCpuSeconds: 0.25 });
    expect(a!.bytesPerCpuSecond).toBe(125e6); // 125 MB over 0.75 + 0.25 CPU-s
    expect(a!.baselineBytesPerCpuSecond).toBe(Math.round(100e6 / 0.75));
    for (const r of report.results) expect(r.suspect).toBe(r === a);

    const table = formatTable(report);
    expect(table).toMatch(/^pipe +1316 +max .* 1\.25! +125 +133 +yes$/m);
    expect(table).toMatch(/^pipe +65536 +max .* 1\.10 +110 +133 +yes$/m);
    expect(table).toMatch(/^! ratio above 1\.10: Node beat the same engine driven from C/m);
    expect(table).toMatch(/wait policy: both writers retry a full transport up to 12 µs \(--spin-us\)/);
    // a report without a suspect row has no footnote
    const calm = await runBench({ transports: ['pipe'], sizes: [1316], seconds: 1, rate: 8e6, runners: fakes([], () => 100) });
    expect(formatTable(calm)).not.toMatch(/!/);
  });

  it('fails the bench when the two writers ran with different spins', async () => {
    const report = await runBench({ transports: ['msg'], sizes: [1316], seconds: 1, rate: 8e6, spinUs: 30, runners: fakes([], () => 100, 0) });
    expect(report.failures).toHaveLength(2);
    expect(report.failures![0]).toMatch(/msg 1316 B max: the writers ran with different spins \(30, 0 µs\)/);
  });
});

describe('bench stream and chart', () => {
  it('is the same mulberry32 stream as native/engine/prng.c (test/unit/bench/stream.test.ts) and test/helpers/rng', () => {
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
