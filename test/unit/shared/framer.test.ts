import { describe, expect, it } from 'vitest';

import { ChunkFramer } from '../../../src/shared/framer.js';
import { HEADER_BYTES, Kind, encodeChunk, type Chunk, type DecodeReason } from '../../../src/shared/protocol.js';
import { randomBytes, rng } from '../../helpers/rng.js';

function collect(maxFrame?: number) {
  const chunks: Chunk[] = [];
  const errors: DecodeReason[] = [];
  const framer = new ChunkFramer(
    { chunk: (c) => chunks.push({ ...c, payload: Buffer.from(c.payload) }), error: (r) => errors.push(r) },
    maxFrame,
  );
  return { framer, chunks, errors };
}

const next = rng(1);
const frames = [0, 1, 5, 188, 1316, 3000].map((n, i) =>
  encodeChunk({ kind: Kind.Data, channel: 1, sequence: i, timestampUs: 1000 + i }, randomBytes(next, n)),
);
const stream = Buffer.concat(frames);

describe('ChunkFramer', () => {
  it('reassembles the stream split at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { framer, chunks, errors } = collect();
      framer.push(stream.subarray(0, cut));
      framer.push(stream.subarray(cut));
      expect(errors).toEqual([]);
      expect(chunks.map((c) => c.sequence)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(framer.bufferedBytes).toBe(0);
    }
  });

  it('reassembles the stream fed one byte at a time and in random pieces', () => {
    const one = collect();
    for (let i = 0; i < stream.length; i++) one.framer.push(stream.subarray(i, i + 1));
    expect(one.chunks.map((c) => c.payload.length)).toEqual([0, 1, 5, 188, 1316, 3000]);
    const r = rng(7);
    for (let round = 0; round < 50; round++) {
      const { framer, chunks, errors } = collect();
      let off = 0;
      while (off < stream.length) {
        const n = 1 + Math.floor(r() * 2000);
        framer.push(stream.subarray(off, off + n));
        off += n;
      }
      expect(errors).toEqual([]);
      expect(Buffer.concat(chunks.map((c) => c.payload))).toEqual(Buffer.concat(frames.map((f) => f.subarray(HEADER_BYTES))));
    }
  });

  it('counts garbage once and still delivers the good chunks on each side of it', () => {
    const { framer, chunks, errors } = collect();
    framer.push(Buffer.concat([frames[1]!, Buffer.from('this is not a chunk at all'), frames[2]!, frames[3]!]));
    expect(errors).toEqual(['bad_magic']);
    expect(chunks.map((c) => c.sequence)).toEqual([1, 2, 3]);
  });

  it('skips a corrupted frame and delivers the next', () => {
    const bad = Buffer.from(frames[4]!);
    bad[HEADER_BYTES + 100]! ^= 0xff;
    const { framer, chunks, errors } = collect();
    framer.push(Buffer.concat([frames[3]!, bad, frames[5]!]));
    expect(errors).toEqual(['checksum_mismatch']);
    expect(chunks.map((c) => c.sequence)).toEqual([3, 5]);
  });

  it('rejects a frame larger than the maximum from its header, before buffering the payload', () => {
    const { framer, chunks, errors } = collect(1024);
    framer.push(frames[4]!.subarray(0, HEADER_BYTES)); // announces 1316 payload bytes
    expect(errors).toEqual(['frame_too_large']);
    expect(framer.bufferedBytes).toBeLessThan(HEADER_BYTES);
    framer.push(Buffer.concat([frames[4]!.subarray(HEADER_BYTES), frames[3]!]));
    expect(chunks.map((c) => c.sequence)).toEqual([3]);
  });

  it('holds a magic split across reads', () => {
    const { framer, chunks } = collect();
    framer.push(Buffer.concat([Buffer.from('xx'), frames[2]!.subarray(0, 2)]));
    framer.push(frames[2]!.subarray(2));
    expect(chunks.map((c) => c.sequence)).toEqual([2]);
  });

  it('refuses a maximum smaller than a header', () => {
    expect(() => new ChunkFramer({ chunk: () => {}, error: () => {} }, 8)).toThrow(RangeError);
  });
});
