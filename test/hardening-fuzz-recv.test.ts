/**
 * Fuzz through the real receiver process: thousands of bad datagrams (UDP) and bad stretches
 * of a byte stream (TCP) interleaved with a real stream. recv must not crash or hang, must
 * count every bad chunk under its reason (the exact count we sent, per reason), and the good
 * stream must reach the decoder byte-exact (the decoder is `dd` writing a file we compare).
 *
 * Seeded (test/helpers/rng.ts): a failure names its seed and reproduces. Longer runs:
 * scripts/fuzz-recv.mjs.
 */
import { randomBytes as cryptoRandom } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { ChunkFramer } from '../src/shared/framer.js';
import { decodeGuide, encodeGuide } from '../src/shared/guide.js';
import { DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES, Kind, MAGIC, decodeChunk, encodeChunk, peekHeader } from '../src/shared/protocol.js';
import { freePort } from './helpers/procs.js';
import { randomBytes, rng } from './helpers/rng.js';
import { killAllH, parseSummary, sleep, spawnH, tempDir } from './fixtures/hardening-helpers.js';

afterEach(killAllH);

const SEED = Number(process.env.IPCAST_FUZZ_SEED ?? 0x1badcafe);
const BUDGET_MS = 12_000;

/** One bad input: a mutation of a chunk, random bytes, or a forged header. */
function badInput(next: () => number, seq: number): Buffer {
  const pick = next();
  const data = (ch: number, n: number) => encodeChunk({ kind: Kind.Data, channel: ch, sequence: seq, timestampUs: Date.now() * 1000 }, randomBytes(next, n));
  const sizes = [0, 1, 31, 32, 33, 188, 1316, 1400];
  const size = () => sizes[Math.floor(next() * sizes.length)]!;
  if (pick < 0.15) return randomBytes(next, Math.floor(next() * 1500)); // random data
  if (pick < 0.3) {
    const c = data(1, 1316); // truncated
    return c.subarray(0, Math.floor(next() * c.length));
  }
  if (pick < 0.45) {
    const c = data(1, size()); // bit flips
    for (let i = 0, n = 1 + Math.floor(next() * 3); i < n; i++) c[Math.floor(next() * c.length)]! ^= 1 << Math.floor(next() * 8);
    return c;
  }
  if (pick < 0.55) {
    const c = data(1, size()); // huge or random length field
    c.writeUInt32BE(next() < 0.5 ? 0xffffffff : Math.floor(next() * 0xffffffff), 8);
    return c;
  }
  if (pick < 0.62) {
    const c = data(1, size()); // wrong version
    c[4] = 2 + Math.floor(next() * 254);
    return c;
  }
  if (pick < 0.69) {
    const c = data(1, size()); // unknown kind
    c[5] = next() < 0.5 ? 0 : 5 + Math.floor(next() * 251);
    return c;
  }
  if (pick < 0.77) return data(2 + Math.floor(next() * 60000), size()); // another channel: valid, ignored
  if (pick < 0.85) {
    // a guide chunk whose payload does not parse
    return encodeChunk({ kind: Kind.Guide, channel: 0, sequence: seq, timestampUs: 1 }, randomBytes(next, 1 + Math.floor(next() * 120)));
  }
  if (pick < 0.9) return Buffer.concat([data(1, size()), randomBytes(next, 1 + Math.floor(next() * 40))]); // trailing junk
  if (pick < 0.95) return Buffer.concat([Buffer.from('IPC1'), randomBytes(next, Math.floor(next() * 60))]); // magic, then junk
  // heartbeat / end of stream on another channel: valid, ignored
  return encodeChunk({ kind: next() < 0.5 ? Kind.Heartbeat : Kind.EndOfStream, channel: 3 + Math.floor(next() * 100), sequence: seq, timestampUs: 2 }, Buffer.alloc(0));
}

/** What recv must count for one datagram: a reason, or null (valid; ignored). Valid chunks of channel 1 and parseable guides are never sent. */
function udpReason(b: Buffer): string | null | 'skip' {
  const r = decodeChunk(b);
  if (!r.ok) return r.reason;
  if (r.chunk.channel === 1) return 'skip';
  if (r.chunk.channel === 0 && r.chunk.kind === Kind.Guide) return decodeGuide(r.chunk.payload) ? 'skip' : 'bad_guide';
  return null;
}

function add(m: Record<string, number>, k: string, n = 1): void {
  m[k] = (m[k] ?? 0) + n;
}

/** The decoder's output must be the file repeated (a looping sender), cut anywhere after one full pass. */
function expectRepeats(out: Buffer, file: Buffer): void {
  expect(out.length).toBeGreaterThanOrEqual(file.length);
  for (let off = 0; off < out.length; off += file.length) {
    const piece = out.subarray(off, Math.min(out.length, off + file.length));
    expect(piece.equals(file.subarray(0, piece.length)), `decoder output differs in the pass at byte ${off}`).toBe(true);
  }
}

describe('fuzz through recv', () => {
  it('UDP: thousands of bad datagrams and a flood, interleaved with a real stream', async () => {
    const dir = tempDir('ipcast-fuzz-udp-');
    const file = cryptoRandom(400_000);
    writeFileSync(join(dir, 'in.bin'), file);
    const out = join(dir, 'out.bin');
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--channel', '1', '--transport', 'shm', '--exec', `dd of=${out} bs=65536 status=none`, '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    // A real sender, looping the file until we stop it (SIGTERM sends the end of stream).
    const send = spawnH(['send', join(dir, 'in.bin'), '--loop', '--rate', '3M', '--to', `udp://127.0.0.1:${port}`]);
    await sleep(600);

    const next = rng(SEED);
    const sock = dgram.createSocket('udp4');
    const want: Record<string, number> = {};
    let cases = 0;
    let ignored = 0;
    const sendOne = (b: Buffer): Promise<void> =>
      new Promise((resolve, reject) => sock.send(b, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const start = Date.now();
    for (let round = 0; round < 120 && Date.now() - start < BUDGET_MS; round++) {
      const batch: Promise<void>[] = [];
      const n = round === 60 ? 2000 : 40; // round 60: a flood of small random datagrams at once
      for (let i = 0; i < n; i++) {
        const b = round === 60 ? randomBytes(next, Math.floor(next() * 64)) : badInput(next, cases);
        const reason = udpReason(b);
        if (reason === 'skip') continue;
        if (reason === null) ignored++;
        else add(want, reason);
        cases++;
        batch.push(sendOne(b));
      }
      await Promise.all(batch);
      await sleep(round === 60 ? 200 : 15);
    }
    sock.close();
    await sleep(300);
    send.proc.kill('SIGTERM');
    const [s, r] = await Promise.all([send.proc, recv.proc]);
    expect(s.exitCode, send.stderrText()).toBe(0);
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(r.signal).toBeUndefined();
    const sum = parseSummary(recv.stderrText());
    console.log(`udp fuzz seed ${SEED}: ${cases} datagrams (${ignored} valid on other channels), counted ${JSON.stringify(sum.errors)}`);
    expect(cases).toBeGreaterThan(4000);
    expect(ignored).toBeGreaterThan(100);
    expect(sum.errors, `seed ${SEED}`).toEqual(want);
    expect(sum.lost).toBe(0);
    expect(sum.duplicates).toBe(0);
    expectRepeats(readFileSync(out), file);
  }, 45_000);

  it('TCP: bad stretches, forged lengths and resyncs inside a byte stream, served in random pieces', async () => {
    const dir = tempDir('ipcast-fuzz-tcp-');
    const file = cryptoRandom(1_200_000);
    const out = join(dir, 'out.bin');
    const next = rng(SEED ^ 0x5eed);
    // The stream: a guide, then the file in chunks of random sizes on channel 1, with bad
    // input between them, then the end of stream.
    const pieces: Buffer[] = [
      encodeChunk({ kind: Kind.Guide, channel: 0, sequence: 0, timestampUs: 1 }, encodeGuide([{ id: 1, name: 'fuzz', description: 'x', bitrate: 0 }])),
    ];
    let seq = 0;
    let bad = 0;
    const total = file.length;
    for (let off = 0; off < total; ) {
      const n = Math.min(total - off, 1 + Math.floor(next() * 1200));
      pieces.push(encodeChunk({ kind: Kind.Data, channel: 1, sequence: seq++, timestampUs: Date.now() * 1000 }, file.subarray(off, off + n)));
      off += n;
      if (next() < 0.9) {
        let b = badInput(next, seq);
        // Bad input must not carry a good chunk of channel 1 (junk appended after a valid chunk does).
        let carriesGood = false;
        new ChunkFramer({ chunk: (c) => (carriesGood ||= c.channel === 1), error: () => {} }).push(b);
        if (carriesGood) b = b.subarray(0, 20);
        // A forged length below the frame limit makes the framer wait for that many bytes (by
        // design: docs/reliability.md, known limits): keep it within what the stream still holds.
        const forged = b.length >= HEADER_BYTES ? peekHeader(b, 0) : null;
        if (b.length >= 12 && b.readUInt32BE(0) === MAGIC && off + 300_000 > total) b = b.subarray(0, 8);
        else if (typeof forged === 'number' && forged <= DEFAULT_MAX_FRAME_BYTES && off + forged + 100_000 > total) b = b.subarray(0, 8);
        pieces.push(b);
        bad++;
      }
    }
    pieces.push(encodeChunk({ kind: Kind.EndOfStream, channel: 1, sequence: seq, timestampUs: Date.now() * 1000 }, Buffer.alloc(0)));
    const stream = Buffer.concat(pieces);
    // What recv must count: the same framer run in-process over the whole stream at once
    // (its counts do not depend on how TCP splits the bytes).
    const want: Record<string, number> = {};
    let delivered = 0;
    const framer = new ChunkFramer({
      chunk: (c) => {
        if (c.channel === 0 && c.kind === Kind.Guide && !decodeGuide(c.payload)) add(want, 'bad_guide');
        if (c.channel === 1) delivered++;
      },
      error: (reason) => add(want, reason),
    });
    framer.push(stream);
    expect(delivered).toBe(seq + 1);

    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.on('data', () => {});
      void (async () => {
        for (let off = 0; off < stream.length && !sock.destroyed; ) {
          const n = 1 + Math.floor(next() * 9000);
          const ok = sock.write(stream.subarray(off, off + n));
          off += n;
          if (!ok) await new Promise((r) => sock.once('drain', r));
        }
      })();
    });
    const port = await freePort('tcp');
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--channel', '1', '--transport', 'msg', '--exec', `dd of=${out} bs=65536 status=none`, '--exit-on-eos']);
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      const sum = parseSummary(recv.stderrText());
      console.log(`tcp fuzz seed ${SEED}: ${seq} good chunks, ${bad} bad pieces, counted ${JSON.stringify(sum.errors)}`);
      expect(bad).toBeGreaterThan(300);
      expect(sum.errors, `seed ${SEED}`).toEqual(want);
      expect(sum.lost).toBe(0);
      expect(sum.reconnects).toBe(0);
      expect(readFileSync(out).equals(file), 'decoder output differs from the file').toBe(true);
    } finally {
      server.close();
    }
  }, 45_000);
});
