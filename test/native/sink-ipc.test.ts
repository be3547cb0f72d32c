/**
 * ipcast-sink reading a System V queue or ring that holds garbage: the writer is the addon's
 * IpcWriter in unframed mode (bytes go into messages / ring slots as given), so the test puts
 * any byte stream where the sink expects records; a C probe (fixtures/hardening-sysv-probe.c)
 * sends messages of a foreign type and scribbles on the ring header and slot headers. The sink
 * must end with a documented exit code (0, 3, 5; 1 for a ring that is not ours) and a final
 * report, never a signal; the objects are gone after the writer closes.
 * (The pipe transport's record parser is covered by test/native/sink.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadNative, type NativeIpcWriter } from '../../src/shared/native.js';
import { RECORD_FLAG_EOS, encodeRecord } from '../../src/transport/index.js';
import { existingIds, listSysv } from '../../src/transport/sysvipc.js';
import { randomBytes, rng } from '../helpers/rng.js';
import { killAllH, tempDir } from '../helpers/hardening.js';
import { spawnSink, type SinkRun } from '../helpers/sink.js';
import { idsOf } from '../helpers/transport.js';
import { waitFor } from '../helpers/wait.js';

const native = loadNative();
const SEED = Number(process.env.IPCAST_FUZZ_SEED ?? 77);
let probe: string;

beforeAll(() => {
  const dir = tempDir('ipcast-sinkfuzz-');
  probe = join(dir, 'probe');
  execFileSync('gcc', ['-O1', '-o', probe, join(import.meta.dirname, '..', 'fixtures', 'hardening-sysv-probe.c')]);
});
afterAll(killAllH);


function startSink(args: string[]): { pid: number; done: Promise<SinkRun> } {
  const { child, done } = spawnSink([...args, '--report-ms', '50'], 'ignore');
  return { pid: child.pid!, done };
}

function sinkArgs(w: NativeIpcWriter): string[] {
  const i = w.info;
  return i.kind === 'shm' ? ['--shm', String(i.shmId), '--sem', String(i.semId)] : ['--msg', String(i.msgId)];
}

/** Has the sink taken everything the writer put in? */
function consumed(w: NativeIpcWriter): boolean {
  const i = w.info;
  if (i.kind === 'msg') return (listSysv('msg').find((o) => o.id === i.msgId)?.qnum ?? 0) === 0;
  const p = native.ipcShmPeek(i.shmId!);
  return !p.ok || p.readPos === p.writePos;
}

/** A valid record stream: k records and the end of stream. */
function records(next: () => number, k: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < k; i++) out.push(encodeRecord(randomBytes(next, Math.floor(next() * 3000)), { sequence: i }));
  out.push(encodeRecord(Buffer.alloc(0), { sequence: k, flags: RECORD_FLAG_EOS }));
  return Buffer.concat(out);
}

type Mutation = 'none' | 'flip' | 'truncate' | 'junk' | 'huge_length' | 'flags' | 'header_length';
const MUTATIONS: Mutation[] = ['none', 'flip', 'truncate', 'junk', 'huge_length', 'flags', 'header_length'];

function mutate(next: () => number, b: Buffer, m: Mutation): Buffer {
  const c = Buffer.from(b);
  switch (m) {
    case 'none':
      return c;
    case 'flip':
      for (let i = 0, n = 1 + Math.floor(next() * 4); i < n; i++) c[Math.floor(next() * c.length)]! ^= 1 << Math.floor(next() * 8);
      return c;
    case 'truncate':
      return c.subarray(0, Math.floor(next() * c.length));
    case 'junk':
      return randomBytes(next, 1 + Math.floor(next() * 5000));
    case 'huge_length':
      c.writeUInt32LE(next() < 0.5 ? 0xffffffff : (16 << 20) + 1 + Math.floor(next() * 1e6), 8);
      return c;
    case 'flags':
      c.writeUInt16LE(2 + Math.floor(next() * 0xfffd), 4);
      return c;
    case 'header_length':
      c.writeUInt16LE(Math.floor(next() * 40), 6);
      return c;
  }
}

async function runCase(kind: 'shm' | 'msg', bytes: Buffer): Promise<SinkRun> {
  const w = new native.IpcWriter(kind, { framed: false, slots: 8, slotBytes: 4096 });
  const ids = idsOf(w.info);
  const sink = startSink(sinkArgs(w));
  let exited = false;
  void sink.done.then(() => (exited = true));
  try {
    const wrote = w.write([bytes], null, false);
    if (wrote !== true) await Promise.race([wrote.catch(() => {}), sink.done]);
    // Give the sink the time to take everything (or to stop at the malformation), then close:
    // a sink still waiting then sees its queue / semaphores removed (exit 5).
    await waitFor(() => exited || consumed(w), 3000, 5);
    await waitFor(() => exited, 60, 5);
  } finally {
    w.close();
  }
  const r = await sink.done;
  expect(await waitFor(() => existingIds(ids).length === 0, 3000)).toBe(true);
  return r;
}

describe.each(['msg', 'shm'] as const)('ipcast-sink --%s reading garbage', (kind) => {
  it('random record streams, mutated: documented exit code and a final report every time', async () => {
    const next = rng(kind === 'msg' ? SEED : SEED + 1);
    const codes: Record<string, number> = {};
    const start = Date.now();
    let n = 0;
    for (; n < 150 && Date.now() - start < 12_000; n++) {
      const m = MUTATIONS[n % MUTATIONS.length]!;
      const k = 1 + Math.floor(next() * 6);
      const input = mutate(next, records(next, k), m);
      const r = await runCase(kind, input);
      const tag = `${m}:${r.code ?? r.signal}`;
      codes[tag] = (codes[tag] ?? 0) + 1;
      expect(r.signal, `${m}: ${r.stderr}`).toBeNull();
      expect([0, 3, 5], `${m}: ${r.stderr}`).toContain(r.code);
      expect(r.final, `${m}: no final report`).toBeDefined();
      expect(r.final!.exitCode).toBe(r.code);
      if (m === 'none') expect(r.final).toMatchObject({ exitCode: 0, eos: true, chunks: k });
      // The sink collects a whole 40-byte record header before it judges it: junk shorter than
      // that is an unfinished header when the writer closes (exit 5), longer junk is malformed.
      if (m === 'huge_length' || m === 'flags' || m === 'header_length' || (m === 'junk' && input.length >= 40)) {
        expect(r.code, `${m}: ${r.stderr}`).toBe(3);
      }
      if (m === 'huge_length') expect(r.final!.error).toMatch(/too_long/);
    }
    expect(n).toBeGreaterThanOrEqual(70);
    // Every mutation was met at least once, and the untouched streams all ended 0.
    expect(Object.keys(codes).some((t) => t.startsWith('truncate:5'))).toBe(true);
  }, 30_000);
});

describe('ipcast-sink --msg and foreign messages', () => {
  it('a message of an unknown type stops it with exit 3', async () => {
    const w = new native.IpcWriter('msg', { framed: false });
    const ids = idsOf(w.info);
    try {
      expect(execFileSync(probe, ['msgsnd', String(w.info.msgId), '7', '100'], { encoding: 'utf8' }).trim()).toBe('ok');
      const r = await startSink(sinkArgs(w)).done;
      expect(r.code).toBe(3);
      expect(r.final).toMatchObject({ exitCode: 3, corrupt: 1, error: 'message of unknown type 7' });
    } finally {
      w.close();
    }
    expect(existingIds(ids)).toEqual([]);
  });

  it('an end-of-stream message that carries no end-of-stream record stops it with exit 3', async () => {
    const w = new native.IpcWriter('msg', { framed: false });
    try {
      const rec = encodeRecord(Buffer.from('abc'), { sequence: 0 });
      w.write([rec], null, false);
      // type 2 (EOS) with an empty body: the stream says "end" but no EOS record came
      expect(execFileSync(probe, ['msgsnd', String(w.info.msgId), '2', '0'], { encoding: 'utf8' }).trim()).toBe('ok');
      const r = await startSink(sinkArgs(w)).done;
      expect(r.code).toBe(3);
      expect(r.final!.error).toMatch(/end-of-stream message without an end-of-stream record/);
    } finally {
      w.close();
    }
  });
});

describe('ipcast-sink --shm and a corrupted ring', () => {
  // Ring header offsets (native/shm_ring.h): magic 0, version 8, header_bytes 12, slot_count 16,
  // slot_bytes 20, slot_stride 24, sem_id 28. Slot 0 starts at 4096: used 4096, data 4112.
  it.each([
    ['magic', 0, '0x12345678'],
    ['version', 8, '99'],
    ['header_bytes', 12, '16'],
    ['slot_count', 16, '0xffffffff'],
    ['slot_count zero', 16, '0'],
    ['slot_bytes', 20, '0x7fffffff'],
    ['slot_stride', 24, '8'],
    ['sem_id', 28, '0x7ffffff0'],
  ])('a bad ring header (%s) is refused at attach: exit 1, nothing mapped beyond the segment', async (_name, offset, value) => {
    const w = new native.IpcWriter('shm', { slots: 4, slotBytes: 4096 });
    const ids = idsOf(w.info);
    try {
      expect(execFileSync(probe, ['poke', String(w.info.shmId), String(offset), value], { encoding: 'utf8' }).trim()).toBe('ok');
      const r = await startSink(sinkArgs(w)).done;
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(1);
      expect(r.final!.error).toMatch(/not an ipcast ring \(bad header\)/);
    } finally {
      w.close();
    }
    expect(await waitFor(() => existingIds(ids).length === 0, 3000)).toBe(true);
  });

  it('a slot that claims more bytes than it holds stops it with exit 3', async () => {
    const w = new native.IpcWriter('shm', { slots: 4, slotBytes: 4096 });
    const ids = idsOf(w.info);
    try {
      expect(w.write([Buffer.from('hello')], null, false)).toBe(true); // posts slot 0 (framed record)
      expect(execFileSync(probe, ['poke', String(w.info.shmId), '4096', '0xffffffff'], { encoding: 'utf8' }).trim()).toBe('ok');
      const r = await startSink(sinkArgs(w)).done;
      expect(r.code).toBe(3);
      expect(r.final).toMatchObject({ corrupt: 1, error: expect.stringMatching(/slot 0 claims 4294967295 bytes, more than the slot size 4096/) });
    } finally {
      w.close();
    }
    expect(await waitFor(() => existingIds(ids).length === 0, 3000)).toBe(true);
  });
});
