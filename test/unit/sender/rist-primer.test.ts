/** The packets a RIST output sends ahead of a new flow (src/sender/outputs/rist.ts): librist's receiver drops the first. */
import { describe, expect, it } from 'vitest';

import { decodeChunk, Kind } from '../../../src/shared/protocol.js';
import { ristPrimers } from '../../../src/sender/outputs/rist.js';

describe('ristPrimers', () => {
  it('ipcast format: two heartbeat chunks, which recv and relay ignore (one may be lost on the way)', () => {
    const p = ristPrimers(Buffer.alloc(1348), 'ipcast');
    expect(p).toHaveLength(2);
    for (const b of p) expect(decodeChunk(b)).toMatchObject({ ok: true, chunk: { kind: Kind.Heartbeat, channel: 1 } });
  });

  it('raw MPEG-TS: one null packet (PID 0x1FFF); any other raw payload: nothing', () => {
    const ts = Buffer.alloc(188 * 7, 0);
    for (let i = 0; i < 7; i++) ts[i * 188] = 0x47;
    const p = ristPrimers(ts, 'raw');
    expect(p).toHaveLength(1);
    expect(p[0]!.length).toBe(188);
    expect(p[0]![0]).toBe(0x47);
    expect(((p[0]![1]! & 0x1f) << 8) | p[0]![2]!).toBe(0x1fff);
    expect(ristPrimers(Buffer.from('not a transport stream'), 'raw')).toEqual([]);
    expect(ristPrimers(Buffer.alloc(188 * 2 + 1, 0x47), 'raw')).toEqual([]);
  });
});
