/**
 * The benchmark's payload: a pseudo-random stream that the Node writer and the plain-C
 * baseline produce identically. This mirrors native/engine/prng.c (ipcast_prng_fill,
 * ipcast_stream_pool_chunks): mulberry32 fills a pool of 4 MiB (or one chunk, if larger)
 * four little-endian bytes per step; chunk i is the slice [(i mod P) * chunk, + chunk),
 * P = max(1, floor(4 MiB / chunk)). test/unit/bench/stream.test.ts runs `ipcast-baseline stream`
 * and compares the two byte for byte.
 */
export const POOL_BYTES = 4 * 1024 * 1024;

export function fillStream(out: Uint8Array, seed: number): void {
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (t >>> (8 * k)) & 0xff;
  }
}

/** The chunks of the stream, as views into one pool (no copies): chunk(i) for any i >= 0. */
export class ChunkStream {
  readonly chunks: Buffer[];
  constructor(
    readonly chunkBytes: number,
    seed = 1,
  ) {
    const count = chunkBytes >= POOL_BYTES ? 1 : Math.floor(POOL_BYTES / chunkBytes);
    const pool = Buffer.allocUnsafe(Math.max(POOL_BYTES, chunkBytes));
    fillStream(pool, seed);
    this.chunks = [];
    for (let i = 0; i < count; i++) this.chunks.push(pool.subarray(i * chunkBytes, (i + 1) * chunkBytes));
  }

  chunk(i: number): Buffer {
    return this.chunks[i % this.chunks.length]!;
  }

  /** Chunks [first, first + n). */
  batch(first: number, n: number): Buffer[] {
    const out = new Array<Buffer>(n);
    for (let k = 0; k < n; k++) out[k] = this.chunks[(first + k) % this.chunks.length]!;
    return out;
  }
}
