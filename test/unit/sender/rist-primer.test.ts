/** The packet a RIST output sends ahead of a new flow (src/sender/outputs/rist.ts): librist's receiver drops it. */
import { describe, expect, it } from 'vitest';

import { decodeChunk, Kind } from '../../../src/shared/protocol.js';
import { ristPrimer } from '../../../src/sender/outputs/rist.js';

describe('ristPrimer', () => {
  it('ipcast format: a heartbeat chunk, which recv and relay ignore', () => {
    const p = ristPrimer(Buffer.alloc(1348), 'ipcast')!;
    const c = decodeChunk(p);
    expect(c).toMatchObject({ ok: true, chunk: { kind: Kind.Heartbeat, channel: 1 } });
  });

  it('raw MPEG-TS: one null packet (PID 0x1FFF); any other raw payload: nothing', () => {
    const ts = Buffer.alloc(188 * 7, 0);
    for (let i = 0; i < 7; i++) ts[i * 188] = 0x47;
    const p = ristPrimer(ts, 'raw')!;
    expect(p.length).toBe(188);
    expect(p[0]).toBe(0x47);
    expect(((p[1]! & 0x1f) << 8) | p[2]!).toBe(0x1fff);
    expect(ristPrimer(Buffer.from('not a transport stream'), 'raw')).toBeUndefined();
    expect(ristPrimer(Buffer.alloc(188 * 2 + 1, 0x47), 'raw')).toBeUndefined();
  });
});
