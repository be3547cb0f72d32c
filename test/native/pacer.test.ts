/**
 * The sender's native pacing loop (native/pacer/, src/sender/native-pacing.ts) against the
 * JS path it replaces for IPv4 UDP: the same datagrams (channel, sequence, kind, payload) on
 * every output, files whose sizes are not a whole number of chunks, a stop in the middle of a
 * stream, the raw format, and an unpaced file larger than the thread's queue (the 'drained'
 * handshake). Receivers are plain node:dgram sockets on 127.0.0.1 (and a loopback group).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { encodeGuide } from '../../src/shared/guide.js';
import { HEADER_BYTES, Kind, decodeChunk } from '../../src/shared/protocol.js';
import { parseEndpoint } from '../../src/shared/url.js';
import { resolveSource, startSender, type Sender } from '../../src/sender/index.js';
import { udpReceiver, type UdpReceiver } from '../helpers/sender.js';
import { randomBytes, rng } from '../helpers/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'ipcast-pacer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function randomFile(path: string, bytes: number, seed: number): Buffer {
  const b = randomBytes(rng(seed), bytes);
  writeFileSync(path, b);
  return b;
}

interface Seen {
  kind: number;
  channel: number;
  sequence: number;
  payload: Buffer;
}

function decodeAll(rx: UdpReceiver): Seen[] {
  return rx.got.map((d) => {
    const r = decodeChunk(d.data);
    if (!r.ok) throw new Error(`a datagram did not decode: ${r.reason}`);
    return { kind: r.chunk.kind, channel: r.chunk.channel, sequence: r.chunk.sequence, payload: Buffer.from(r.chunk.payload) };
  });
}

async function settle(rxs: UdpReceiver[], expected: number[]): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && rxs.some((r, i) => r.got.length < expected[i]!)) await new Promise((r) => setTimeout(r, 20));
}

const GROUP = '239.255.77.21';

describe('native pacing loop', () => {
  const files = [100_007, 64_000, 1316 * 50];
  const folder = join(dir, 'channels');
  mkdirSync(folder);
  const contents = files.map((n, i) => randomFile(join(folder, `ch${i}.bin`), n, 1000 + i));

  async function run(pacing: 'native' | 'js', gso = true): Promise<{ seen: Seen[][]; sender: Sender }> {
    const rxs = [await udpReceiver(), await udpReceiver(GROUP)];
    try {
      const sender = await startSender({
        channels: await resolveSource(folder),
        outputs: [
          parseEndpoint(`udp://127.0.0.1:${rxs[0]!.port}`, 'send'),
          parseEndpoint(`udp://${GROUP}:${rxs[1]!.port}?iface=127.0.0.1&loop=1`, 'send'),
        ],
        rate: 16_000_000,
        pacing,
        gso,
      });
      expect(sender.pacingPath).toBe(pacing);
      await sender.done;
      const sent = sender.stats.outputs.map((o) => o.chunks);
      await settle(rxs, sent);
      return { seen: rxs.map(decodeAll), sender };
    } finally {
      await Promise.all(rxs.map((r) => r.close()));
    }
  }

  it('sends what the JS path sends: every channel whole, in order, its end of stream last, on every output', async () => {
    const native = await run('native');
    const plain = await run('native', false);
    const js = await run('js');
    for (const { seen, sender } of [native, plain, js]) {
      expect(sender.stats.outputs.map((o) => o.chunks)).toEqual(seen.map((s) => s.length));
      expect(sender.stats.outputs.every((o) => o.sendErrors === 0)).toBe(true);
      for (const [o, got] of seen.entries()) {
        expect(got.filter((s) => s.kind === Kind.Guide).length).toBeGreaterThanOrEqual(1);
        expect(sender.stats.outputs[o]!.guides).toBe(got.filter((s) => s.kind === Kind.Guide).length);
        for (const [i, content] of contents.entries()) {
          const mine = got.filter((s) => s.channel === i + 1);
          const data = mine.filter((s) => s.kind === Kind.Data);
          expect(data.map((s) => s.sequence)).toEqual(data.map((_, k) => k));
          expect(Buffer.concat(data.map((s) => s.payload)).equals(content)).toBe(true);
          expect(mine.at(-1)!.kind).toBe(Kind.EndOfStream);
          expect(mine.at(-1)!.sequence).toBe(data.length);
          expect(sender.stats.channels[i]!).toMatchObject({ chunks: data.length, bytes: content.length, ended: true });
        }
      }
    }
    // Same chunking on both paths: the same (channel, sequence, length) on the first output.
    const shape = (seen: Seen[]): string[] =>
      seen.filter((s) => s.kind !== Kind.Guide).map((s) => `${s.channel}/${s.sequence}/${s.kind}/${s.payload.length}`).sort();
    expect(shape(native.seen[0]!)).toEqual(shape(js.seen[0]!));
    expect(shape(plain.seen[0]!)).toEqual(shape(js.seen[0]!));
  });

  it('a stop in the middle of a looped stream: every channel ends with its end of stream right after its last chunk', async () => {
    const rx = await udpReceiver();
    try {
      const sender = await startSender({
        channels: await resolveSource(folder),
        outputs: [parseEndpoint(`udp://127.0.0.1:${rx.port}`, 'send')],
        rate: 4_000_000,
        loop: true,
      });
      expect(sender.pacingPath).toBe('native');
      await new Promise((r) => setTimeout(r, 400));
      const t0 = performance.now();
      await sender.stop();
      expect(performance.now() - t0).toBeLessThan(1500);
      await settle([rx], [sender.stats.outputs[0]!.chunks]);
      const seen = decodeAll(rx);
      for (let ch = 1; ch <= files.length; ch++) {
        const mine = seen.filter((s) => s.channel === ch);
        const data = mine.filter((s) => s.kind === Kind.Data);
        expect(data.length).toBeGreaterThan(10);
        expect(mine.at(-1)!.kind).toBe(Kind.EndOfStream);
        expect(mine.at(-1)!.sequence).toBe(data.at(-1)!.sequence + 1);
        expect(mine.filter((s) => s.kind === Kind.EndOfStream)).toHaveLength(1);
      }
      expect(sender.stats.channels.every((c) => c.ended)).toBe(true);
    } finally {
      await rx.close();
    }
  });

  it('runs of equal-size datagrams as one UDP_SEGMENT send arrive as the same datagrams, unicast and multicast (and without it)', async () => {
    const file = join(dir, 'gso.bin');
    const content = randomFile(file, 1_500_000 + 77, 11);
    for (const gso of [true, false]) {
      const rxs = [await udpReceiver(), await udpReceiver(GROUP)];
      try {
        const sender = await startSender({
          channels: await resolveSource(file),
          outputs: [
            parseEndpoint(`udp://127.0.0.1:${rxs[0]!.port}`, 'send'),
            parseEndpoint(`udp://${GROUP}:${rxs[1]!.port}?iface=127.0.0.1&loop=1`, 'send'),
          ],
          rate: 100_000_000,
          gso,
        });
        await sender.done;
        for (const segmented of sender.segmentedDatagrams()) {
          if (gso) expect(segmented).toBeGreaterThan(100);
          else expect(segmented).toBe(0);
        }
        await settle(rxs, sender.stats.outputs.map((o) => o.chunks));
        for (const rx of rxs) {
          const data = decodeAll(rx).filter((s) => s.kind === Kind.Data);
          expect(data.map((s) => s.sequence)).toEqual(data.map((_, k) => k));
          expect(Buffer.concat(data.map((s) => s.payload)).equals(content)).toBe(true);
        }
      } finally {
        await Promise.all(rxs.map((r) => r.close()));
      }
    }
  });

  it('raw format: bare payloads whose concatenation is the file, no header, no end of stream', async () => {
    const file = join(dir, 'raw.bin');
    const content = randomFile(file, 200_001, 7);
    const rx = await udpReceiver();
    try {
      const sender = await startSender({
        channels: await resolveSource(file),
        outputs: [parseEndpoint(`udp://127.0.0.1:${rx.port}`, 'send')],
        rate: 20_000_000,
        format: 'raw',
      });
      await sender.done;
      const n = Math.ceil(content.length / 1316);
      await settle([rx], [n]);
      expect(rx.got).toHaveLength(n);
      expect(Buffer.concat(rx.got.map((d) => d.data)).equals(content)).toBe(true);
      expect(sender.stats.outputs[0]!.bytes).toBe(content.length);
    } finally {
      await rx.close();
    }
  });

  it('unpaced, a file larger than the thread queue: every chunk handed to the kernel, counted once', async () => {
    const file = join(dir, 'big.bin');
    const size = 24 * 1024 * 1024 + 5;
    randomFile(file, size, 9);
    const rx = await udpReceiver(); // it falls behind: the kernel drops what it cannot queue
    try {
      const channels = await resolveSource(file);
      const guide = encodeGuide(channels.map((c) => ({ id: c.id, name: c.name, description: c.description, bitrate: 0 })));
      const sender = await startSender({
        channels,
        outputs: [parseEndpoint(`udp://127.0.0.1:${rx.port}`, 'send')],
        rate: Infinity,
      });
      await sender.done;
      const chunks = Math.ceil(size / 1316);
      expect(sender.stats.channels[0]).toMatchObject({ chunks, bytes: size, ended: true });
      const out = sender.stats.outputs[0]!;
      // data + end of stream + the guides, all taken by the kernel
      expect(out.chunks).toBe(chunks + 1 + out.guides);
      expect(out.bytes).toBe(size + (chunks + 1 + out.guides) * HEADER_BYTES + out.guides * guide.length);
    } finally {
      await rx.close();
    }
  }, 30_000);
});

