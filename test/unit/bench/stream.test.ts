/**
 * The bench stream is one definition in two languages: native/engine/prng.c (what
 * ipcast-baseline writes) and src/bench/stream.ts (what the Node writer writes). Both are run
 * here and compared byte for byte, and a golden vector pins them, so a change to either shows.
 */
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { ChunkStream, POOL_BYTES, fillStream } from '../../../src/bench/stream.js';
import { nativeExecutable } from '../../../src/shared/native.js';

/** chunks 0..count-1 of the stream, as `ipcast-baseline stream` writes them to stdout */
function cStream(chunk: number, count: number, seed: number): Buffer {
  return execFileSync(nativeExecutable('ipcast-baseline'), ['stream', '--chunk', String(chunk), '--chunks', String(count), '--seed', String(seed)], {
    maxBuffer: 64 * 1024 * 1024,
  });
}

function tsStream(chunk: number, count: number, seed: number): Buffer {
  return Buffer.concat(new ChunkStream(chunk, seed).batch(0, count));
}

/** Where two buffers first differ (-1: equal), so a failure names an offset, not megabytes. */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

describe('bench stream: C and TypeScript write the same bytes', () => {
  // mulberry32(1), four little-endian bytes per step; computed once from both implementations
  const GOLDEN_SEED_1 = 'f3ea87a0c949b300ebc40687fd2726fb';

  it('the golden vector: the first 16 bytes of seed 1', () => {
    const a = new Uint8Array(16);
    fillStream(a, 1);
    expect(Buffer.from(a).toString('hex')).toBe(GOLDEN_SEED_1);
    expect(cStream(16, 1, 1).toString('hex')).toBe(GOLDEN_SEED_1);
    expect(tsStream(16, 1, 1).toString('hex')).toBe(GOLDEN_SEED_1);
  });

  const poolChunks = (chunk: number) => (chunk >= POOL_BYTES ? 1 : Math.floor(POOL_BYTES / chunk));
  it.each([
    // [chunk bytes, chunks, seed]
    [1316, 20, 1], // the default payload (7 MPEG-TS packets)
    [1317, 20, 2], // not a multiple of 4: chunks start mid-word
    [1317, poolChunks(1317) + 5, 3], // past the pool's last chunk: the stream wraps to chunk 0
    [65536, poolChunks(65536) + 3, 1], // the 64 KiB bench size, wrapping
    [POOL_BYTES + 3, 2, 9], // one chunk larger than the pool: the pool is that chunk
    [188, 5, 0], // seed 0
  ])('chunk %i B x %i, seed %i', (chunk, count, seed) => {
    const c = cStream(chunk, count, seed);
    const ts = tsStream(chunk, count, seed);
    expect(c.length).toBe(chunk * count);
    expect(firstDifference(c, ts)).toBe(-1);
    if (count > poolChunks(chunk)) {
      // the wrap is real: chunk P is chunk 0 again
      const p = poolChunks(chunk);
      expect(c.subarray(p * chunk, (p + 1) * chunk).equals(c.subarray(0, chunk))).toBe(true);
    }
  });

  it('different seeds give different streams', () => {
    expect(cStream(64, 1, 1).equals(cStream(64, 1, 2))).toBe(false);
  });
});
