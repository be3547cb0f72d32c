import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/shared/errors.js';
import { parseSource, resolveSource } from '../../../src/sender/sources.js';
import { startSender } from '../../../src/sender/index.js';
import { udpReceiver } from '../../helpers/sender.js';
import { waitFor } from '../../helpers/wait.js';
import { Kind, decodeChunk } from '../../../src/shared/protocol.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-send-src-'));
  writeFileSync(join(dir, 'short.bin'), Buffer.from('0123456789'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sources', () => {
  it('parses the source argument', () => {
    expect(parseSource('-')).toEqual({ kind: 'stdin' });
    expect(parseSource('tone')).toEqual({ kind: 'tone', hz: 440 });
    expect(parseSource('tone:1000')).toEqual({ kind: 'tone', hz: 1000 });
    expect(parseSource('tone:1000:2.5')).toEqual({ kind: 'tone', hz: 1000, seconds: 2.5 });
    expect(parseSource('./tone')).toEqual({ kind: 'file', path: './tone' });
    expect(() => parseSource('tone:0')).toThrow(UsageError);
    expect(() => parseSource('tone:440:0')).toThrow(/duration/);
  });

  it('a file reads in chunk-sized pieces; --loop replays it and counts the loops', async () => {
    const [ch] = await resolveSource(join(dir, 'short.bin'));
    const pieces: string[] = [];
    let loops = 0;
    for await (const p of ch!.chunks(4, true, () => loops++)) {
      pieces.push(p.toString());
      if (pieces.length === 7) break; // bounded
    }
    expect(pieces).toEqual(['0123', '4567', '89', '0123', '4567', '89', '0123']);
    expect(loops).toBe(2);
  });

  it('a looped file source keeps sending, sequence numbers going on across loops', async () => {
    const rx = await udpReceiver();
    try {
      const sender = await startSender({
        channels: await resolveSource(join(dir, 'short.bin')),
        outputs: [{ proto: 'udp', mode: 'unicast', host: '127.0.0.1', port: rx.port, family: 4, ttl: 1, loop: true, url: 'test' }],
        rate: 80_000,
        chunkBytes: 5,
        loop: true,
      });
      await waitFor(() => sender.stats.channels[0]!.loops >= 3, 3000);
      await sender.stop();
      await waitFor(() => rx.got.some((d) => d.data[5] === Kind.EndOfStream), 1000);
      const data = rx.got.map((d) => decodeChunk(d.data)).flatMap((r) => (r.ok && r.chunk.kind === Kind.Data ? [r.chunk] : []));
      expect(data.length).toBeGreaterThanOrEqual(6);
      expect(data.map((c) => c.sequence)).toEqual(data.map((_, i) => i));
      expect(data.map((c) => c.payload.toString()).slice(0, 6)).toEqual(['01234', '56789', '01234', '56789', '01234', '56789']);
    } finally {
      await rx.close();
    }
  });
});
