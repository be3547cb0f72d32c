/**
 * Fuzz: random and mutated buffers against the TypeScript decoder, the C decoder and the TCP
 * framer. Bounded in count and time. Nothing may throw; TS and C must agree on every input;
 * whatever the framer accepts must be a chunk that was really sent.
 */
import { describe, expect, it } from 'vitest';

import { ChunkFramer } from '../../../src/shared/framer.js';
import { decodeGuide } from '../../../src/shared/guide.js';
import { loadNative } from '../../../src/shared/native.js';
import { DECODE_REASONS, Kind, decodeChunk, encodeChunk } from '../../../src/shared/protocol.js';
import { randomBytes, rng } from '../../helpers/rng.js';

const native = loadNative();
const CASES = 20_000;
const BUDGET_MS = 8_000;

function mutate(next: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (Math.floor(next() * 5)) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + Math.floor(next() * 4); i < n; i++) b[Math.floor(next() * b.length)]! ^= 1 << Math.floor(next() * 8);
      return b;
    case 1: // truncate
      return b.subarray(0, Math.floor(next() * b.length));
    case 2: // extend with junk
      return Buffer.concat([b, randomBytes(next, 1 + Math.floor(next() * 64))]);
    case 3: // a huge or random length field
      b.writeUInt32BE(next() < 0.5 ? 0xffffffff : Math.floor(next() * 0xffffffff), 8);
      return b;
    default: // random kind / version
      b[4 + Math.floor(next() * 2)] = Math.floor(next() * 256);
      return b;
  }
}

describe('fuzz', () => {
  it('the TS and C decoders never throw and always agree', () => {
    const next = rng(0xc0ffee);
    const seedChunks = [0, 1, 188, 1316].map((n, i) => encodeChunk({ kind: Kind.Data, channel: 1, sequence: i, timestampUs: i }, randomBytes(next, n)));
    const start = Date.now();
    let n = 0;
    for (; n < CASES && Date.now() - start < BUDGET_MS; n++) {
      const input = next() < 0.3 ? randomBytes(next, Math.floor(next() * 200)) : mutate(next, seedChunks[n % seedChunks.length]!);
      const ts = decodeChunk(input);
      const c = native.decodeChunk(input);
      expect(c.ok).toBe(ts.ok);
      if (!ts.ok) {
        expect(DECODE_REASONS).toContain(ts.reason);
        expect(c.reason).toBe(ts.reason);
      } else {
        expect(c.sequence).toBe(ts.chunk.sequence);
        expect(c.length).toBe(ts.chunk.payload.length);
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('the framer never throws, stays bounded, and only yields chunks that were sent', () => {
    const next = rng(42);
    const sent = new Set<string>();
    const start = Date.now();
    let delivered = 0;
    for (let round = 0; round < 400 && Date.now() - start < BUDGET_MS; round++) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        const r = next();
        if (r < 0.6) {
          const c = encodeChunk({ kind: Kind.Data, channel: 2, sequence: round * 100 + i, timestampUs: 5 }, randomBytes(next, Math.floor(next() * 1500)));
          sent.add(c.toString('hex'));
          pieces.push(c);
        } else if (r < 0.8) {
          pieces.push(randomBytes(next, Math.floor(next() * 100)));
        } else {
          // A mutation may leave the original intact (junk appended): that one counts as sent.
          const base = encodeChunk({ kind: Kind.Data, channel: 2, sequence: 1, timestampUs: 5 }, randomBytes(next, 100));
          sent.add(base.toString('hex'));
          pieces.push(mutate(next, base));
        }
      }
      const all = Buffer.concat(pieces);
      const framer = new ChunkFramer(
        {
          chunk: (c) => {
            delivered++;
            const again = encodeChunk(c, c.payload).toString('hex');
            expect(sent.has(again)).toBe(true);
          },
          error: (reason) => expect(DECODE_REASONS).toContain(reason),
        },
        4096,
      );
      let off = 0;
      while (off < all.length) {
        const n = 1 + Math.floor(next() * 700);
        framer.push(all.subarray(off, off + n));
        off += n;
        expect(framer.bufferedBytes).toBeLessThanOrEqual(4096 + 700);
      }
    }
    expect(delivered).toBeGreaterThan(1000);
  });

  it('the guide parser never throws on random or mutated input', () => {
    const next = rng(9);
    for (let i = 0; i < 5000; i++) {
      const b = randomBytes(next, Math.floor(next() * 300));
      const r = decodeGuide(b);
      expect(r === null || Array.isArray(r)).toBe(true);
    }
  });
});
