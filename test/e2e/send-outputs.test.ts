/**
 * End to end through the CLI: `node bin/ipcast.js send FILE --to ...` with receiving sockets
 * written here, all on 127.0.0.1 (multicast on interface 127.0.0.1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { decodeGuide } from '../../src/shared/guide.js';
import { DEFAULT_PAYLOAD_BYTES, Kind, decodeChunk, type Chunk } from '../../src/shared/protocol.js';
import { runSend, tcpClient, udpReceiver, type UdpReceiver } from '../helpers/sender.js';
import { freePort } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;
let file: string;
const content = randomBytes(200_000 + 123); // not a multiple of the chunk size
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-send-'));
  file = join(dir, 'data.bin');
  writeFileSync(file, content);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function decodeAll(rx: UdpReceiver): Chunk[] {
  return rx.got.map((d) => {
    const r = decodeChunk(d.data);
    if (!r.ok) throw new Error(`bad datagram: ${r.reason}`);
    return r.chunk;
  });
}

/** Data chunks of channel 1 in order, with consecutive sequences from 0, then EOS. */
function expectStream(chunks: Chunk[]): void {
  const data = chunks.filter((c) => c.kind === Kind.Data);
  expect(data.every((c) => c.channel === 1)).toBe(true);
  expect(data.map((c) => c.sequence)).toEqual(data.map((_, i) => i));
  expect(Buffer.concat(data.map((c) => c.payload)).equals(content)).toBe(true);
  expect(data.slice(0, -1).every((c) => c.payload.length === DEFAULT_PAYLOAD_BYTES)).toBe(true);
  const eos = chunks.filter((c) => c.kind === Kind.EndOfStream);
  expect(eos).toHaveLength(1);
  expect(eos[0]!.channel).toBe(1);
  expect(eos[0]!.sequence).toBe(data.length);
  expect(chunks.at(-1)!.kind).toBe(Kind.EndOfStream);
  const guide = chunks.find((c) => c.kind === Kind.Guide);
  expect(guide?.channel).toBe(0);
  expect(decodeGuide(guide!.payload)).toEqual([{ id: 1, name: 'data', description: 'data.bin', bitrate: 16_000_000 }]);
}

describe('ipcast send FILE: the exact bytes arrive', () => {
  it('over unicast UDP and multicast UDP (iface 127.0.0.1) at once, from one read of the file', async () => {
    const uni = await udpReceiver();
    const group = `239.255.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const multi = await udpReceiver(group);
    cleanups.push(uni.close, multi.close);
    const run = runSend([file, '--rate', '16M', '--to', `udp://127.0.0.1:${uni.port}`, '--to', `udp://${group}:${multi.port}?iface=127.0.0.1&ttl=0`]);
    const r = await run.result;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expected = Math.ceil(content.length / DEFAULT_PAYLOAD_BYTES) + 2; // + guide + EOS
    await waitFor(() => uni.got.length >= expected && multi.got.length >= expected, 2000);
    expectStream(decodeAll(uni));
    expectStream(decodeAll(multi));
  });

  it('over TCP, the guide first, then the data, then end of stream and the close', async () => {
    const port = await freePort('tcp');
    const run = runSend([file, '--rate', '16M', '--to', `tcp://127.0.0.1:${port}`, '--wait-clients', '1']);
    cleanups.push(() => void run.child.kill());
    const client = await tcpClient(port);
    await client.ended;
    const r = await run.result;
    expect(r.code).toBe(0);
    expect(client.errors).toEqual([]);
    expect(client.chunks[0]!.kind).toBe(Kind.Guide);
    expectStream(client.chunks);
  });

  it('raw format over UDP: bare payloads whose concatenation is the file; no guide, no EOS', async () => {
    const uni = await udpReceiver();
    cleanups.push(uni.close);
    const r = await runSend([file, '--rate', '16M', '--format', 'raw', '--chunk', '1000', '--to', `udp://127.0.0.1:${uni.port}`]).result;
    expect(r.code).toBe(0);
    await waitFor(() => uni.got.length >= Math.ceil(content.length / 1000), 2000);
    expect(uni.got.every((d, i, all) => d.data.length === 1000 || i === all.length - 1)).toBe(true);
    expect(Buffer.concat(uni.got.map((d) => d.data)).equals(content)).toBe(true);
  });

  it('raw format over TCP: the bytes of the file, then the close', async () => {
    const port = await freePort('tcp');
    const run = runSend([file, '--rate', 'max', '--format', 'raw', '--to', `tcp://127.0.0.1:${port}`, '--wait-clients', '1']);
    cleanups.push(() => void run.child.kill());
    const client = await tcpClient(port, { frame: false });
    await client.ended;
    expect((await run.result).code).toBe(0);
    expect(Buffer.concat(client.bytes).equals(content)).toBe(true);
  });

  it('an endless tone stopped by SIGTERM: end of stream is sent and the exit code is 0', async () => {
    const uni = await udpReceiver();
    cleanups.push(uni.close);
    // An endless tone, stopped by a signal.
    const run = runSend(['tone:1000', '--name', 'beep', '--channel', '7', '--to', `udp://127.0.0.1:${uni.port}`]);
    await waitFor(() => uni.got.length >= 20, 5000);
    run.child.kill('SIGTERM');
    const r = await run.result;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^ipcast send: channel 7 'beep': rate 705\.6 kbit\/s \(measured from the test tone/);
    await waitFor(() => decodeAll(uni).some((c) => c.kind === Kind.EndOfStream), 1000);
    const chunks = decodeAll(uni);
    expect(chunks.at(-1)).toMatchObject({ kind: Kind.EndOfStream, channel: 7 });
    expect(decodeGuide(chunks.find((c) => c.kind === Kind.Guide)!.payload)![0]).toMatchObject({ id: 7, name: 'beep', bitrate: 705_600 });
  });

  it('stdin (-) is streamed, its rate measured from its head', async () => {
    const uni = await udpReceiver();
    cleanups.push(uni.close);
    const wav = Buffer.concat([...(await import('../../src/sender/tone.js')).toneChunks({ hz: 300, seconds: 0.2 }, 4096)]);
    const r = await runSend(['-', '--to', `udp://127.0.0.1:${uni.port}`], 10_000, wav).result;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/channel 1 'stdin': rate 705\.6 kbit\/s \(measured from the WAV header/);
    await waitFor(() => decodeAll(uni).some((c) => c.kind === Kind.EndOfStream), 2000);
    const data = decodeAll(uni).filter((c) => c.kind === Kind.Data);
    expect(Buffer.concat(data.map((c) => c.payload)).equals(wav)).toBe(true);
  });

  it('unpaced with nobody listening still answers SIGINT at once (the event loop is never starved)', async () => {
    const port = await freePort('tcp');
    const run = runSend(['tone', '--rate', 'max', '--to', `tcp://127.0.0.1:${port}`], 10_000);
    const client = await tcpClient(port, { frame: false });
    await waitFor(() => client.received() > 100_000, 3000);
    client.socket.destroy();
    await new Promise((r) => setTimeout(r, 300)); // streaming to no one now
    const t0 = performance.now();
    run.child.kill('SIGINT');
    const r = await run.result;
    expect(r.code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
