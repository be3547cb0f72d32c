/**
 * Fuzz through the real receiver process: thousands of bad datagrams (UDP) and bad stretches
 * of a byte stream (TCP) interleaved with a real stream. recv must not crash or hang, must
 * count every bad chunk under its reason (the exact count we sent, per reason), and the good
 * stream must reach the decoder byte-exact (the decoder is `dd` writing a file we compare).
 *
 * What recv must count comes from an oracle written here from docs/protocol.md alone (its
 * own CRC-32C, header checks in the documented order, guide parser and TCP resync), not from
 * src/shared (the code under test); the oracle is first checked against the golden vectors
 * printed in that document.
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

import { encodeGuide } from '../../src/shared/guide.js';
import { Kind, encodeChunk } from '../../src/shared/protocol.js';
import { freePort } from '../helpers/procs.js';
import { randomBytes, rng } from '../helpers/rng.js';
import { killAllH, parseSummary, sleep, spawnH, tempDir } from '../helpers/hardening.js';

afterEach(killAllH);

const SEED = Number(process.env.IPCAST_FUZZ_SEED ?? 0x1badcafe);
const BUDGET_MS = 12_000;
// scripts/fuzz-recv.mjs --datagrams N / --tcp-frames N run the two end-to-end cases at scale
// (the suite runs them at their defaults): bad datagrams to send, good TCP frames to serve.
const DATAGRAMS = Number(process.env.IPCAST_FUZZ_DATAGRAMS ?? 4800);
const TCP_FRAMES = Number(process.env.IPCAST_FUZZ_TCP_FRAMES ?? 2000);
const SCALED = DATAGRAMS > 4800 || TCP_FRAMES > 2000;
/** Test and process timeouts: the defaults, or long enough for a scaled run. */
const UDP_TIMEOUT_MS = SCALED ? 45_000 + DATAGRAMS : 45_000;
const TCP_TIMEOUT_MS = SCALED ? 45_000 + TCP_FRAMES * 20 : 45_000;

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

/** What recv must count for one datagram (the oracle): a reason, or null (valid; ignored). Valid chunks of channel 1 and parseable guides are never sent. */
function udpReason(b: Buffer): string | null | 'skip' {
  const r = oDatagram(b);
  if (typeof r === 'string') return r;
  if (r.channel === 1) return 'skip';
  if (r.channel === 0 && r.kind === 2) return oGuideError(r) ?? 'skip';
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

// ---- The oracle: docs/protocol.md, read literally. ----------------------------------------

const O_HEADER = 32;
const O_MAGIC = 0x49504331; // "IPC1"
const O_MAX_FRAME = 1024 * 1024; // "its maximum frame size (default 1 MiB)"
const O_MAX_DESC = 1024;

/** CRC-32C: reflected polynomial 0x82F63B78, init and xor-out 0xFFFFFFFF, one bit at a time
 *  through a table built here. */
const O_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function oCrc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = O_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const be16 = (b: Buffer, o: number) => b[o]! * 256 + b[o + 1]!;
const be32 = (b: Buffer, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

type OChunk = { kind: number; channel: number; sequence: number; payload: Buffer };

/** The header checks, in the order of the Rejections table (too_short .. unknown_kind): a reason, or the length field. */
function oHeader(b: Buffer, off: number): string | number {
  if (b.length - off < O_HEADER) return 'too_short';
  if (be32(b, off) !== O_MAGIC) return 'bad_magic';
  if (b[off + 4] !== 1) return 'bad_version';
  if (b[off + 5]! < 1 || b[off + 5]! > 4) return 'unknown_kind';
  return be32(b, off + 8);
}

/** The checksum: CRC-32C over the 32 header bytes with the checksum field zeroed, then the payload. */
function oChecksumOk(frame: Buffer): boolean {
  const copy = Buffer.from(frame);
  copy.fill(0, 28, 32);
  return oCrc32c(copy) === be32(frame, 28);
}

function oChunk(frame: Buffer): OChunk {
  return { kind: frame[5]!, channel: be16(frame, 6), sequence: be32(frame, 12), payload: frame.subarray(O_HEADER) };
}

/** One UDP datagram: the chunk, or the first failing check's reason. */
function oDatagram(b: Buffer): OChunk | string {
  const h = oHeader(b, 0);
  if (typeof h === 'string') return h;
  if (h !== b.length - O_HEADER) return 'length_mismatch';
  if (!oChecksumOk(b)) return 'checksum_mismatch';
  return oChunk(b);
}

/** The channel-guide payload: count, then count entries, ending exactly after the last. */
function oGuideParses(p: Buffer): boolean {
  if (p.length < 2) return false;
  let off = 2;
  for (let i = 0, n = be16(p, 0); i < n; i++) {
    if (p.length - off < 7) return false;
    const id = be16(p, off);
    const nameLength = p[off + 6]!;
    off += 7 + nameLength;
    if (id === 0 || p.length - off < 2) return false;
    const descLength = be16(p, off);
    off += 2 + descLength;
    if (descLength > O_MAX_DESC || off > p.length) return false;
  }
  return off === p.length;
}

/** A TCP byte stream as a whole: magic, version, kind and length checked before the payload
 *  is waited for; after a rejection, scan for the next magic; one bad stretch, one error. */
function oStream(b: Buffer): { chunks: OChunk[]; errors: string[] } {
  const chunks: OChunk[] = [];
  const errors: string[] = [];
  const magic = Buffer.from([0x49, 0x50, 0x43, 0x31]);
  let resyncing = false;
  let off = 0;
  const reject = (reason: string) => {
    if (!resyncing) errors.push(reason);
    resyncing = true;
    const next = b.indexOf(magic, off + 1);
    off = next < 0 ? b.length : next;
  };
  while (b.length - off >= O_HEADER) {
    const h = oHeader(b, off);
    if (typeof h === 'string') reject(h);
    else if (O_HEADER + h > O_MAX_FRAME) reject('frame_too_large');
    else if (off + O_HEADER + h > b.length) break; // waits for the rest
    else if (!oChecksumOk(b.subarray(off, off + O_HEADER + h))) reject('checksum_mismatch');
    else {
      chunks.push(oChunk(b.subarray(off, off + O_HEADER + h)));
      resyncing = false;
      off += O_HEADER + h;
    }
  }
  return { chunks, errors };
}

/** What recv counts for a chunk that decoded: a guide on channel 0 that does not parse. */
function oGuideError(c: OChunk): string | null {
  return c.channel === 0 && c.kind === 2 && !oGuideParses(c.payload) ? 'bad_guide' : null;
}

describe('the oracle', () => {
  it('reads the golden vectors of docs/protocol.md as the document describes them', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
    const vector = (name: string): Buffer => {
      const m = new RegExp(`### ${name}\\n\\n[^\\n]*\\n\\n\`\`\`\\n([0-9a-f \\n]+)\`\`\``).exec(doc);
      return Buffer.from(m![1]!.replace(/\s+/g, ''), 'hex');
    };
    expect(oCrc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const data = oDatagram(vector('data')) as OChunk;
    expect(data).toMatchObject({ kind: 1, channel: 1, sequence: 7 });
    expect(data.payload.toString()).toBe('hello, ipcast');
    expect(oDatagram(vector('data-ts-packet'))).toMatchObject({ kind: 1, channel: 3, sequence: 4294967294 });
    const guide = oDatagram(vector('guide')) as OChunk;
    expect(guide).toMatchObject({ kind: 2, channel: 0 });
    expect(oGuideParses(guide.payload)).toBe(true);
    expect(oGuideParses(guide.payload.subarray(0, -1))).toBe(false);
    expect(oDatagram(vector('end-of-stream'))).toMatchObject({ kind: 3, channel: 1, sequence: 8 });
    expect(oDatagram(vector('heartbeat'))).toMatchObject({ kind: 4, channel: 0, sequence: 42 });
    const bad = Buffer.from(vector('data'));
    bad[40]! ^= 1;
    expect(oDatagram(bad)).toBe('checksum_mismatch');
    expect(oDatagram(vector('data').subarray(0, 40))).toBe('length_mismatch');
    const stream = oStream(Buffer.concat([vector('guide'), Buffer.from('junk IPC1 junk'), vector('data'), bad, bad, vector('end-of-stream')]));
    expect(stream.chunks.map((c) => c.kind)).toEqual([2, 1, 3]);
    expect(stream.errors).toEqual(['bad_magic', 'checksum_mismatch']);
  });
});

describe('fuzz through recv', () => {
  it('UDP: thousands of bad datagrams and a flood, interleaved with a real stream', async () => {
    const dir = tempDir('ipcast-fuzz-udp-');
    const file = cryptoRandom(400_000);
    writeFileSync(join(dir, 'in.bin'), file);
    const out = join(dir, 'out.bin');
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--channel', '1', '--transport', 'shm', '--exec', `dd of=${out} bs=65536 status=none`, '--exit-on-eos'], { timeoutMs: UDP_TIMEOUT_MS + 15_000 });
    await recv.waitFor(/listening on/);
    // A real sender, looping the file until we stop it (SIGTERM sends the end of stream).
    const send = spawnH(['send', join(dir, 'in.bin'), '--loop', '--rate', '3M', '--to', `udp://127.0.0.1:${port}`], { timeoutMs: UDP_TIMEOUT_MS + 15_000 });
    await sleep(600);

    const next = rng(SEED);
    const sock = dgram.createSocket('udp4');
    const want: Record<string, number> = {};
    let cases = 0;
    let ignored = 0;
    const sendOne = (b: Buffer): Promise<void> =>
      new Promise((resolve, reject) => sock.send(b, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const start = Date.now();
    const rounds = Math.ceil(DATAGRAMS / 40);
    const budget = SCALED ? UDP_TIMEOUT_MS - 30_000 : BUDGET_MS;
    for (let round = 0; round < rounds && Date.now() - start < budget; round++) {
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
    if (SCALED) expect(cases, 'the scaled run was cut short by its time budget').toBeGreaterThanOrEqual(DATAGRAMS);
    expectRepeats(readFileSync(out), file);
  }, UDP_TIMEOUT_MS);

  it('TCP: bad stretches, forged lengths and resyncs inside a byte stream, served in random pieces', async () => {
    const dir = tempDir('ipcast-fuzz-tcp-');
    const file = cryptoRandom(Math.round(1_200_000 * (TCP_FRAMES / 2000)));
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
        if (oStream(b).chunks.some((c) => c.channel === 1)) b = b.subarray(0, 20);
        // A forged length below the frame limit makes the framer wait for that many bytes (by
        // design: docs/reliability.md, known limits): keep it within what the stream still holds.
        const forged = oHeader(b, 0);
        if (b.length >= 12 && be32(b, 0) === O_MAGIC && off + 300_000 > total) b = b.subarray(0, 8);
        else if (typeof forged === 'number' && O_HEADER + forged <= O_MAX_FRAME && off + forged + 100_000 > total) b = b.subarray(0, 8);
        pieces.push(b);
        bad++;
      }
    }
    pieces.push(encodeChunk({ kind: Kind.EndOfStream, channel: 1, sequence: seq, timestampUs: Date.now() * 1000 }, Buffer.alloc(0)));
    const stream = Buffer.concat(pieces);
    // What recv must count: the oracle over the whole stream at once (the counts do not depend
    // on how TCP splits the bytes).
    const want: Record<string, number> = {};
    const { chunks, errors } = oStream(stream);
    for (const e of errors) add(want, e);
    for (const c of chunks) {
      const g = oGuideError(c);
      if (g) add(want, g);
    }
    const delivered = chunks.filter((c) => c.channel === 1);
    expect(delivered).toHaveLength(seq + 1);
    expect(Buffer.concat(delivered.map((c) => c.payload)).equals(file)).toBe(true);

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
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--channel', '1', '--transport', 'msg', '--exec', `dd of=${out} bs=65536 status=none`, '--exit-on-eos', '--policy', 'block'], { timeoutMs: TCP_TIMEOUT_MS });
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      const sum = parseSummary(recv.stderrText());
      console.log(`tcp fuzz seed ${SEED}: ${seq} good chunks, ${bad} bad pieces, counted ${JSON.stringify(sum.errors)}`);
      expect(bad).toBeGreaterThan(300);
      expect(sum.errors, `seed ${SEED}`).toEqual(want);
      expect(sum.lost).toBe(0);
      expect(sum.reconnects).toBe(0);
      // The server writes as fast as TCP takes it: with --policy block recv stops reading
      // instead of dropping when the decoder falls behind (a scaled run overflowed the 8 MiB
      // drop-oldest buffer and lost chunks there, not in the parser).
      expect(sum.transports.msg?.dropped).toBe(0);
      expect(readFileSync(out).equals(file), 'decoder output differs from the file').toBe(true);
      if (SCALED) console.log(`tcp fuzz: ${seq} good frames (asked ${TCP_FRAMES})`);
    } finally {
      server.close();
    }
  }, TCP_TIMEOUT_MS);
});
