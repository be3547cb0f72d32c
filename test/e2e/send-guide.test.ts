/**
 * A folder of channels: the guide on channel 0 lists them, each channel has its own
 * sequence numbers and its own end of stream, interleaved on the same output.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeGuide } from '../../src/shared/guide.js';
import { Kind, decodeChunk, type Chunk } from '../../src/shared/protocol.js';
import { toneChunks } from '../../src/sender/tone.js';
import { runSend, tcpClient, udpReceiver } from '../helpers/sender.js';
import { freePort } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;
/** Random bytes without 0xFF: no MPEG frame sync, so the sender can never take them for MP3
 *  (plain random data passes its two-header check about 8 % of the time at 30 KB). */
const noSync = (n: number): Buffer => Buffer.from(randomBytes(n).map((v) => (v === 0xff ? 0xfe : v)));
const a = noSync(30_000);
const b = noSync(20_001);
const wav = Buffer.concat([...toneChunks({ hz: 600, seconds: 0.3 }, 8192)]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-send-folder-'));
  mkdirSync(join(dir, 'jazz'));
  writeFileSync(join(dir, 'jazz', 'desc.txt'), 'Smooth jazz\nall day long\n');
  writeFileSync(join(dir, 'jazz', '01-a.bin'), a);
  writeFileSync(join(dir, 'jazz', '02-b.bin'), b);
  writeFileSync(join(dir, 'news.wav'), wav);
  mkdirSync(join(dir, 'silent')); // no media: not a channel
  writeFileSync(join(dir, 'README.txt'), 'not a channel');
  writeFileSync(join(dir, '.hidden'), 'not a channel');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GUIDE = [
  { id: 1, name: 'jazz', description: 'Smooth jazz all day long', bitrate: 2_000_000 },
  { id: 2, name: 'news', description: 'news.wav', bitrate: 2_000_000 },
];

function expectChannels(chunks: Chunk[]): void {
  for (const [id, content] of [[1, Buffer.concat([a, b])], [2, wav]] as const) {
    const mine = chunks.filter((c) => c.channel === id);
    const data = mine.filter((c) => c.kind === Kind.Data);
    expect(data.map((c) => c.sequence)).toEqual(data.map((_, i) => i));
    expect(Buffer.concat(data.map((c) => c.payload)).equals(content)).toBe(true);
    expect(mine.at(-1)).toMatchObject({ kind: Kind.EndOfStream, sequence: data.length });
  }
  // Interleaved: channel 2's data starts before channel 1's ends.
  const firstOf2 = chunks.findIndex((c) => c.channel === 2);
  const lastOf1 = chunks.map((c) => c.channel === 1 && c.kind === Kind.Data).lastIndexOf(true);
  expect(firstOf2).toBeLessThan(lastOf1);
}

describe('ipcast send FOLDER', () => {
  it('the guide lists the channels; each channel arrives whole with its own sequence and EOS (UDP)', async () => {
    const rx = await udpReceiver();
    try {
      const r = await runSend([dir, '--rate', '2M', '--to', `udp://127.0.0.1:${rx.port}`]).result;
      expect(r.code).toBe(0);
      await waitFor(() => rx.got.filter((d) => decodeChunk(d.data).ok && d.data[5] === Kind.EndOfStream).length >= 2, 2000);
      const chunks = rx.got.map((d) => {
        const res = decodeChunk(d.data);
        if (!res.ok) throw new Error(res.reason);
        return res.chunk;
      });
      const guides = chunks.filter((c) => c.kind === Kind.Guide);
      expect(guides.length).toBeGreaterThanOrEqual(1);
      expect(guides.every((g) => g.channel === 0)).toBe(true);
      expect(guides.map((g) => g.sequence)).toEqual(guides.map((_, i) => i));
      expect(decodeGuide(guides[0]!.payload)).toEqual(GUIDE);
      expectChannels(chunks);
    } finally {
      await rx.close();
    }
  });

  it('a TCP client gets the guide at once, before any data', async () => {
    const port = await freePort('tcp');
    const run = runSend([dir, '--rate', '2M', '--to', `tcp://127.0.0.1:${port}`, '--wait-clients', '1']);
    try {
      const client = await tcpClient(port);
      await client.ended;
      expect((await run.result).code).toBe(0);
      expect(client.chunks[0]!.kind).toBe(Kind.Guide);
      expect(decodeGuide(client.chunks[0]!.payload)).toEqual(GUIDE);
      expectChannels(client.chunks);
    } finally {
      run.child.kill();
    }
  });

  it('without --rate, each channel says its measured rate, or the error names the channel', async () => {
    const r = await runSend([dir, '--to', 'udp://127.0.0.1:9']).result;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ipcast: cannot tell the bitrate of channel 1 'jazz'/);
  });
});
