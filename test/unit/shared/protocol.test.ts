import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { crc32c } from '../../../src/shared/crc32c.js';
import { decodeGuide, encodeGuide } from '../../../src/shared/guide.js';
import { loadNative } from '../../../src/shared/native.js';
import { HEADER_BYTES, Kind, decodeChunk, encodeChunk } from '../../../src/shared/protocol.js';

interface Vector {
  name: string;
  header: { kind: number; channel: number; sequence: number; timestampUs: number };
  payload: string;
  chunk: string;
}
const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden.json', import.meta.url), 'utf8')) as {
  crc32cCheck: { input: string; crc32c: string };
  vectors: Vector[];
};
const native = loadNative();

describe('CRC-32C', () => {
  it('gives the standard check value in TypeScript and C', () => {
    const input = Buffer.from(golden.crc32cCheck.input);
    expect(crc32c(input).toString(16)).toBe(golden.crc32cCheck.crc32c);
    expect(native.crc32c(input).toString(16)).toBe(golden.crc32cCheck.crc32c);
  });

  it('continues across pieces the same as in one go', () => {
    const b = Buffer.from('the quick brown fox jumps over the lazy dog, twice over');
    expect(crc32c(b.subarray(13), crc32c(b.subarray(0, 13)))).toBe(crc32c(b));
  });
});

describe.each(golden.vectors)('golden vector $name', (v) => {
  const chunk = Buffer.from(v.chunk, 'hex');
  const payload = Buffer.from(v.payload, 'hex');

  it('TypeScript encodes it byte for byte', () => {
    expect(encodeChunk(v.header as never, payload).toString('hex')).toBe(v.chunk);
  });

  it('C encodes it byte for byte', () => {
    const out = native.encodeChunk({ ...v.header, timestampUs: BigInt(v.header.timestampUs) }, payload);
    expect(out.toString('hex')).toBe(v.chunk);
  });

  it('TypeScript decodes it to the same fields', () => {
    const r = decodeChunk(chunk);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.chunk).toMatchObject(v.header);
    expect(r.chunk.payload.toString('hex')).toBe(v.payload);
  });

  it('C decodes it to the same fields', () => {
    const r = native.decodeChunk(chunk);
    expect(r).toMatchObject({ ok: true, kind: v.header.kind, channel: v.header.channel, sequence: v.header.sequence, length: payload.length });
    expect(r.timestampUs).toBe(BigInt(v.header.timestampUs));
  });
});

describe('decode rejections', () => {
  const good = encodeChunk({ kind: Kind.Data, channel: 1, sequence: 1, timestampUs: 1 }, Buffer.from('payload'));
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: Array<[string, Buffer]> = [
    ['too_short', good.subarray(0, HEADER_BYTES - 1)],
    ['bad_magic', mutate((b) => (b[0] = 0))],
    ['bad_version', mutate((b) => (b[4] = 2))],
    ['unknown_kind', mutate((b) => (b[5] = 9))],
    ['length_mismatch', good.subarray(0, good.length - 1)],
    ['length_mismatch', mutate((b) => b.writeUInt32BE(0xffffffff, 8))],
    ['checksum_mismatch', mutate((b) => (b[b.length - 1]! ^= 1))],
    ['checksum_mismatch', mutate((b) => (b[13]! ^= 0x80))],
  ];
  it.each(cases)('%s in TypeScript and C alike', (reason, buf) => {
    expect(decodeChunk(buf)).toEqual({ ok: false, reason });
    expect(native.decodeChunk(buf)).toEqual({ ok: false, reason });
  });

  it('decodes the payload as a view, without copying', () => {
    const r = decodeChunk(good);
    expect(r.ok && r.chunk.payload.buffer === good.buffer).toBe(true);
  });
});

describe('channel guide', () => {
  const channels = [
    { id: 1, name: 'tone', description: '440 Hz sine', bitrate: 705600 },
    { id: 7, name: 'Radio Ünicode ♫', description: '', bitrate: 0 },
  ];
  it('round-trips', () => {
    expect(decodeGuide(encodeGuide(channels))).toEqual(channels);
  });
  it('rejects truncation at every length and trailing bytes', () => {
    const enc = encodeGuide(channels);
    for (let n = 0; n < enc.length; n++) expect(decodeGuide(enc.subarray(0, n))).toBeNull();
    expect(decodeGuide(Buffer.concat([enc, Buffer.from([0])]))).toBeNull();
  });
  it('rejects channel id 0 and a count larger than the entries', () => {
    expect(decodeGuide(encodeGuide([{ id: 0, name: 'x', description: '', bitrate: 1 }]))).toBeNull();
    const enc = encodeGuide(channels);
    enc.writeUInt16BE(3, 0);
    expect(decodeGuide(enc)).toBeNull();
  });
  it('cuts an over-long name at a character boundary', () => {
    const long = 'é'.repeat(200);
    const [ch] = decodeGuide(encodeGuide([{ id: 1, name: long, description: '', bitrate: 1 }]))!;
    expect(Buffer.byteLength(ch!.name)).toBeLessThanOrEqual(255);
    expect(long.startsWith(ch!.name)).toBe(true);
  });
});

describe('docs/protocol.md', () => {
  it('shows every golden vector exactly as the tests use it', () => {
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    for (const v of golden.vectors) {
      const section = doc.split(`### ${v.name}\n`)[1];
      expect(section, v.name).toBeDefined();
      const hex = /```\n([0-9a-f \n]+)```/.exec(section!)![1]!.replace(/[\s]/g, '');
      expect(hex).toBe(v.chunk);
    }
  });
});
