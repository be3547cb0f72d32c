/**
 * ipcast-sink as an untrusted-input parser: records crafted in TypeScript (src/transport/record.ts)
 * are fed to `ipcast-sink --pipe`; every malformed input ends with a documented exit code and
 * a final report, never a crash.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { nativeExecutable } from '../../src/shared/native.js';
import { RECORD_FLAG_EOS, ReportLineParser, SINK_EXIT, encodeRecord, type SinkReport } from '../../src/transport/index.js';
import { spawnSink } from '../helpers/sink.js';

/** Runs the sink on `input`, written buffer by buffer (`gapMs` apart, so each is a read of its own). */
async function runSink(
  args: string[],
  input: Buffer[],
  gapMs = 0,
): Promise<{ code: number | null; final?: SinkReport; stderr: string }> {
  const { child, done } = spawnSink(args, 'pipe');
  child.stdin!.on('error', () => {}); // the sink may stop reading early: that is the point
  for (const b of input) {
    child.stdin!.write(b);
    if (gapMs > 0) await sleep(gapMs);
  }
  child.stdin!.end();
  const { code, final, stderr } = await done;
  return { code, ...(final ? { final } : {}), stderr };
}

const payload = Buffer.from('hello, sink');
const eos = (seq: number) => encodeRecord(Buffer.alloc(0), { sequence: seq, flags: RECORD_FLAG_EOS });

describe('ipcast-sink --pipe with crafted records', () => {
  it('accepts a well-formed stream and exits 0', async () => {
    const r = await runSink(['--pipe'], [encodeRecord(payload, { sequence: 0 }), encodeRecord(payload, { sequence: 1 }), eos(2)]);
    expect(r.code).toBe(SINK_EXIT.ok);
    expect(r.final).toMatchObject({ exitCode: 0, chunks: 2, bytes: 2 * payload.length, eos: true });
  });

  it('exits 3 on a bad magic, counted as corrupt', async () => {
    const bad = encodeRecord(payload, { sequence: 0 });
    bad.writeUInt32LE(0xdeadbeef, 0);
    const r = await runSink(['--pipe'], [bad, eos(1)]);
    expect(r.code).toBe(SINK_EXIT.verifyFailed);
    expect(r.final).toMatchObject({ corrupt: 1, exitCode: 3, error: expect.stringMatching(/malformed record after 0 records: bad_magic/) });
  });

  it('exits 3 on a length beyond the record maximum without allocating it', async () => {
    const bad = encodeRecord(payload, { sequence: 0 });
    bad.writeUInt32LE(0xffffffff, 8);
    const r = await runSink(['--pipe'], [bad]);
    expect(r.code).toBe(SINK_EXIT.verifyFailed);
    expect(r.final!.error).toMatch(/too_long/);
  });

  it('exits 3 on unknown flags and on a wrong header length', async () => {
    const flags = encodeRecord(payload, { sequence: 0, flags: 0x8000 });
    expect((await runSink(['--pipe'], [flags])).final!.error).toMatch(/bad_flags/);
    const hl = encodeRecord(payload, { sequence: 0 });
    hl.writeUInt16LE(41, 6);
    expect((await runSink(['--pipe'], [hl])).final!.error).toMatch(/bad_header_length/);
  });

  it('counts a checksum error and a sequence gap, reads on to EOS, then exits 3', async () => {
    const r = await runSink(['--pipe'], [
      encodeRecord(payload, { sequence: 0, crc: 12345 }),
      encodeRecord(payload, { sequence: 3 }),
      eos(4),
    ]);
    expect(r.code).toBe(SINK_EXIT.verifyFailed);
    expect(r.final).toMatchObject({ checksumErrors: 1, gaps: 2, chunks: 2, eos: true, error: expect.stringMatching(/2 gaps, 0 reorders, 1 checksum errors/) });
  });

  // On a pipe the end of stream is the EOS record followed by EOF: the sink reads on to EOF, so
  // data after EOS is refused whether it comes in the same read or a later one.
  it.each([
    ['in the same write', 0],
    ['in a later read', 100],
  ])('exits 3 on data after the end-of-stream record (%s)', async (_when, gapMs) => {
    const r = await runSink(['--pipe'], [eos(0), encodeRecord(payload, { sequence: 1 })], gapMs);
    expect(r.code).toBe(SINK_EXIT.verifyFailed);
    expect(r.final).toMatchObject({ exitCode: 3, eos: true, corrupt: 1, error: expect.stringMatching(/^\d+ bytes after the end-of-stream record$/) });
  });

  it('exits 5 on end of input without an end-of-stream record, also mid-header', async () => {
    const full = await runSink(['--pipe'], [encodeRecord(payload, { sequence: 0 })]);
    expect(full.code).toBe(SINK_EXIT.noEndOfStream);
    expect(full.final).toMatchObject({ chunks: 1, eos: false, error: 'end of input without an end-of-stream record' });
    const half = await runSink(['--pipe'], [encodeRecord(payload, { sequence: 0 }).subarray(0, 20)]);
    expect(half.code).toBe(SINK_EXIT.noEndOfStream);
  });

  it('exits 2 on a bad command line and 1 when it cannot attach', async () => {
    const none = await runSink([], []);
    expect(none.code).toBe(SINK_EXIT.usage);
    expect(none.stderr).toMatch(/one of --pipe, --shm, --msg is required/);
    expect((await runSink(['--shm', 'x', '--sem', '1'], [])).stderr).toMatch(/--shm expects a non-negative integer, got 'x'/);
    const attach = await runSink(['--shm', '2147483000', '--sem', '2147483000'], []);
    expect(attach.code).toBe(SINK_EXIT.runtime);
    expect(attach.final!.error).toMatch(/cannot attach shm 2147483000/);
    const msg = await runSink(['--msg', '2147483000'], []);
    expect(msg.code).toBe(SINK_EXIT.runtime);
  });

  it('exits 4 when the decoder cannot be run', async () => {
    const r = await runSink(['--pipe', '--', '/nonexistent/decoder'], [encodeRecord(payload, { sequence: 0 }), eos(1)]);
    expect(r.code).toBe(SINK_EXIT.decoderFailed);
    expect(r.final!.decoder).toMatchObject({ exitCode: 127 });
  });
});

/** Is a process (not a zombie) still there? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('ipcast-sink stops a decoder that ignores SIGTERM', () => {
  // The decoder ignores SIGTERM and keeps its stdin open (exec'd in place: the pid the sink knows).
  const stubborn = ['sh', '-c', 'trap "" TERM; exec sleep 30'];

  it.each([
    ['SIGTERM to the sink', 'term', SINK_EXIT.noEndOfStream],
    ['a malformed record (abort)', 'malformed', SINK_EXIT.verifyFailed],
  ] as const)('after %s: SIGKILL after the 2 s grace, the sink exits, the decoder is gone', async (_what, how, exitCode) => {
    const child = spawn(nativeExecutable('ipcast-sink'), ['--pipe', '--', ...stubborn], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    const reports: SinkReport[] = [];
    const parser = new ReportLineParser((r) => reports.push(r));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => parser.push(d));
    child.stderr!.resume();
    child.stdin!.on('error', () => {});
    const closed = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    let decoderPid: number | undefined;
    try {
      for (let i = 0; i < 200 && !reports.some((r) => r.type === 'ready'); i++) await sleep(25);
      decoderPid = reports.find((r) => r.type === 'ready')?.decoder?.pid;
      expect(decoderPid).toBeGreaterThan(0);
      expect(alive(decoderPid!)).toBe(true);
      child.stdin!.write(encodeRecord(payload, { sequence: 0 }));
      await sleep(100);
      const t0 = Date.now();
      if (how === 'term') child.kill('SIGTERM');
      else child.stdin!.write(Buffer.alloc(40, 0xab)); // bad magic
      const code = await Promise.race([closed, sleep(8000).then(() => 'timeout' as const)]);
      const ms = Date.now() - t0;
      expect(code).toBe(exitCode);
      expect(ms).toBeGreaterThanOrEqual(1500); // SIGTERM first, SIGKILL only after the grace
      expect(ms).toBeLessThan(6000);
      const final = reports.find((r) => r.type === 'final');
      expect(final).toMatchObject({ exitCode, decoder: { pid: decoderPid, exitCode: null, signal: 9 } });
      expect(alive(decoderPid!)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (decoderPid && alive(decoderPid)) process.kill(decoderPid, 'SIGKILL');
    }
  }, 20_000);
});
