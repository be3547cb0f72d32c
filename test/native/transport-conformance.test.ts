/**
 * One conformance suite, run against pipe, shm and msg: delivery, end of stream,
 * backpressure with a slow reader, the child or the parent killed mid-stream, no leaks.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { afterEach, describe, expect, it } from 'vitest';

import { RuntimeError } from '../../src/shared/errors.js';
import { startTransportChild, type TransportChild, type TransportKind } from '../../src/transport/index.js';
import { ODD_SIZES, idsGone, idsOf, pidAlive, prng } from '../helpers/transport.js';
import { waitFor } from '../helpers/wait.js';

const KINDS: TransportKind[] = ['pipe', 'shm', 'msg'];
const open: TransportChild[] = [];

/** Writes 40 pseudo-random chunks of odd sizes into a child running sha256sum; returns both digests. */
async function streamThroughDigest(t: TransportChild, seed: number) {
  let text = '';
  t.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  const gen = prng(seed);
  const want = createHash('sha256');
  for (let i = 0; i < 40; i++) {
    const b = gen(ODD_SIZES[i % ODD_SIZES.length]!);
    want.update(b);
    await t.write(b);
  }
  await t.end();
  const ex = await t.exited;
  return { printed: text.split(/\s/)[0], sent: want.digest('hex'), ex };
}

async function start(kind: TransportKind, opts: Parameters<typeof startTransportChild>[1] = {}): Promise<TransportChild> {
  const t = await startTransportChild(kind, { stdout: 'ignore', ...opts });
  open.push(t);
  return t;
}

afterEach(async () => {
  for (const t of open.splice(0)) {
    await t.close();
    expect(await idsGone(t.info)).toEqual([]);
  }
});

describe.each(KINDS)('%s transport', (kind) => {
  it('delivers a pseudo-random stream in odd chunk sizes byte-exact, and exits 0 at end of stream', async () => {
    const t = await start(kind, { stdout: 'pipe' });
    const out = createHash('sha256');
    const want = createHash('sha256');
    t.stdout!.on('data', (d: Buffer) => out.update(d));
    const stdoutDone = new Promise((r) => t.stdout!.once('end', r));
    const gen = prng(42);
    let bytes = 0;
    let chunks = 0;
    for (let round = 0; round < 12; round++) {
      // alternate single writes and batches
      const sizes = ODD_SIZES.map((_, i) => ODD_SIZES[(i + round) % ODD_SIZES.length]!);
      const bufs = sizes.map((n) => gen(n));
      for (const b of bufs) want.update(b);
      bytes += bufs.reduce((a, b) => a + b.length, 0);
      chunks += bufs.length;
      if (round % 2) await t.writeBatch(bufs, bufs.map(() => ({ senderTimestampUs: Date.now() * 1000 })));
      else for (const b of bufs) await t.write(b);
    }
    await t.end();
    await stdoutDone;
    const ex = await t.exited;
    expect(ex.code).toBe(0);
    expect(ex.report).toMatchObject({ type: 'final', transport: kind, exitCode: 0, eos: true, bytes, chunks, gaps: 0, checksumErrors: 0, corrupt: 0 });
    expect(ex.report!.handoff!.count).toBe(chunks);
    expect(ex.report!.endToEnd!.count).toBe(chunks / 2);
    expect(ex.report!.handoff!.buckets).toHaveLength(ex.report!.bucketBoundsUs!.length + 1);
    expect(out.digest('hex')).toBe(want.digest('hex'));
    expect(await idsGone(t.info)).toEqual([]);
  });

  it('end of stream with nothing written reaches the child, which exits 0', async () => {
    const t = await start(kind);
    await t.end();
    const ex = await t.exited;
    expect(ex).toMatchObject({ code: 0, signal: null });
    expect(ex.report).toMatchObject({ eos: true, chunks: 0, exitCode: 0 });
    if (kind === 'msg') expect(ex.report!.kernel!.msgmax).toBeGreaterThan(0);
    if (kind === 'shm') expect(ex.report!.ring).toEqual({ slots: 64, slotBytes: 65536 });
    if (kind === 'pipe') expect(ex.report!.pipe!.capacity).toBe(t.info.capacity);
  });

  it('holds backpressure with a slow reader: nothing lost, bounded memory, the event loop keeps running', async () => {
    const t = await start(kind, { slowUs: 1500, slots: 4, slotBytes: 4096, pipeBytes: 16384, reportMs: 50 });
    let ticks = 0;
    let maxGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const progress: number[] = [];
    t.on('progress', (r) => progress.push(r.bytes));
    const gen = prng(7);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const n = 300;
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      await t.write(gen(4096));
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    await t.end();
    clearInterval(timer);
    const elapsed = Date.now() - t0;
    const ex = await t.exited;
    expect(ex.report).toMatchObject({ exitCode: 0, chunks: n, bytes: n * 4096, gaps: 0, checksumErrors: 0 });
    expect(t.stats().waits).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThan(300); // 300 records x 1.5 ms: the reader paced the writer
    expect(ticks).toBeGreaterThan(elapsed / 10 / 4);
    expect(maxGap).toBeLessThan(250);
    expect(peak).toBeLessThan(16 * 1024 * 1024);
    expect(progress.length).toBeGreaterThan(1);
  });

  it('rejects a waiting write with a clear error when the child is SIGKILLed, and removes the objects', async () => {
    const t = await start(kind, { slowUs: 200_000, slots: 2, slotBytes: 4096, pipeBytes: 4096 });
    const chunk = Buffer.alloc(4096, 1);
    let err: unknown;
    const writing = (async () => {
      for (let i = 0; i < 10_000; i++) await t.write(chunk);
    })().catch((e) => (err = e));
    expect(await waitFor(() => t.stats().waits > 0, 5000)).toBe(true);
    const killedAt = Date.now();
    process.kill(t.pid!, 'SIGKILL');
    await writing;
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ code: 'ERR_TRANSPORT_CHILD_EXITED', message: expect.stringMatching(new RegExp(`^${kind} transport: the child \\(pid \\d+\\) (exited with signal SIGKILL|closed its end)`)) });
    await expect(t.write(chunk)).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CHILD_EXITED' });
    expect((await t.exited).signal).toBe('SIGKILL');
    expect(await idsGone(t.info, 1000)).toEqual([]);
  });

  it('the sink removes the objects when the parent is SIGKILLed mid-stream', async () => {
    const fixture = join(import.meta.dirname, '..', 'fixtures', 'transport-parent.mjs');
    const parent = spawn(process.execPath, [fixture, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: parent.stdout! });
        rl.once('line', resolve);
        parent.once('exit', (c) => reject(new Error(`fixture exited ${c}`)));
        setTimeout(() => reject(new Error('fixture did not start')), 10_000).unref();
      });
      const { childPid, info } = JSON.parse(line) as { childPid: number; info: Parameters<typeof idsOf>[0] };
      expect(pidAlive(childPid)).toBe(true);
      if (kind !== 'pipe') expect(idsOf(info).length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      parent.kill('SIGKILL');
      expect(await waitFor(() => !pidAlive(childPid) || readStat(childPid) === 'Z', 5000)).toBe(true);
      expect(await idsGone(info, 3000)).toEqual([]);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

function readStat(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`) ? 'R' : 'Z';
  } catch {
    return 'Z';
  }
}

describe('pipe transport specifics', () => {
  it("the sink's fd 0 is a real pipe, raised towards 1 MiB", async () => {
    const t = await start('pipe');
    expect(readlinkSync(`/proc/${t.pid}/fd/0`)).toMatch(/^pipe:\[\d+\]$/);
    expect(t.info.capacity).toBeGreaterThanOrEqual(64 * 1024);
    await t.end();
    expect((await t.exited).code).toBe(0);
  });

  it('feeds raw bytes to an external decoder on a real pipe (sha256sum)', async () => {
    const t = await start('pipe', { decoder: ['sha256sum'], stdout: 'pipe' });
    expect(readlinkSync(`/proc/${t.pid}/fd/0`)).toMatch(/^pipe:\[\d+\]$/);
    const { printed, sent, ex } = await streamThroughDigest(t, 3);
    expect(ex).toMatchObject({ code: 0, report: undefined });
    expect(printed).toBe(sent);
  });
});

describe.each(['shm', 'msg'] as const)('%s transport with a decoder behind the sink', (kind) => {
  it('writes the payload into the decoder', async () => {
    const t = await start(kind, { decoder: ['sha256sum'], stdout: 'pipe' });
    const { printed, sent, ex } = await streamThroughDigest(t, 11);
    expect(ex.code).toBe(0);
    expect(ex.report!.decoder).toMatchObject({ exitCode: 0, epipe: 0 });
    expect(printed).toBe(sent);
  });

  it('exits 4 when the decoder closes its stdin early, and the writer rejects', async () => {
    const t = await start(kind, { decoder: ['head', '-c', '100'] });
    const chunk = Buffer.alloc(65536, 2);
    let err: unknown;
    for (let i = 0; i < 2000 && !err; i++) await t.write(chunk).catch((e) => (err = e));
    expect(err).toMatchObject({ code: 'ERR_TRANSPORT_CHILD_EXITED' });
    const ex = await t.exited;
    expect(ex.code).toBe(4);
    expect(ex.report!.error).toMatch(/EPIPE/);
    expect(ex.report!.decoder!.epipe).toBe(1);
  });
});
