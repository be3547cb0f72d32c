/**
 * The TCP server's slow-receiver policy, in process (the test reads the sender's stats):
 * a client that stops reading is dropped and counted, and never slows a healthy one;
 * --max-clients refuses the extra connections.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { Kind } from '../../../src/shared/protocol.js';
import type { TcpEndpoint } from '../../../src/shared/url.js';
import { resolveSource, startSender, type Sender } from '../../../src/sender/index.js';
import { tcpClient, type TcpClient } from '../../helpers/sender.js';
import { waitFor } from '../../helpers/wait.js';

const ep: TcpEndpoint = { proto: 'tcp', host: '127.0.0.1', port: 0, family: 4, url: 'tcp://127.0.0.1:0' };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function payloadOf(c: TcpClient): Buffer {
  return Buffer.concat(c.chunks.filter((x) => x.kind === Kind.Data).map((x) => x.payload));
}

describe('TCP output', () => {
  it('a client that stops reading is dropped and counted; the healthy one gets every byte at the full rate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipcast-send-tcp-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const content = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(dir, 'big.bin'), content);
    const rate = 32_000_000; // 4 MB/s: 3 s for the file
    const sender: Sender = await startSender({
      channels: await resolveSource(join(dir, 'big.bin')),
      outputs: [ep],
      rate,
      chunkBytes: 16 * 1024,
      waitClients: 2,
      tcpClientBufferBytes: 1024 * 1024,
    });
    cleanups.push(() => sender.stop());
    const port = sender.tcpAddresses()[0]!.port;
    const healthy = await tcpClient(port);
    const stuck = await tcpClient(port);
    stuck.socket.pause(); // stops reading: the kernel buffers fill, then the sender's bound
    const t0 = performance.now();
    await healthy.ended;
    const seconds = (performance.now() - t0) / 1000;
    await sender.done;
    const out = sender.stats.outputs[0]!;
    expect(payloadOf(healthy).equals(content)).toBe(true);
    expect(healthy.chunks.at(-1)!.kind).toBe(Kind.EndOfStream);
    expect(out.clientsDropped).toBe(1);
    expect(out.clientsAccepted).toBe(2);
    // The dropped client, reading again, finds a cut stream: no end of stream, bytes missing.
    stuck.socket.resume();
    await Promise.race([stuck.ended, new Promise((r) => setTimeout(r, 5000))]);
    expect(stuck.socket.destroyed).toBe(true);
    expect(payloadOf(stuck).length).toBeLessThan(content.length);
    expect(stuck.chunks.some((c) => c.kind === Kind.EndOfStream)).toBe(false);
    console.log(`tcp: healthy took ${seconds.toFixed(2)} s for ${content.length} bytes (${((content.length * 8) / seconds / 1e6).toFixed(1)} Mbit/s); stuck got ${stuck.received()} bytes before the drop`);
    // Not slowed: the healthy client got the stream at the paced rate (within 10%).
    expect((content.length * 8) / seconds).toBeGreaterThan(rate * 0.9);
  });

  it('unpaced (--rate max): the fastest client sets the pace, the stuck one is dropped', async () => {
    const sender = await startSender({
      channels: await resolveSource('tone:440:400'), // 35 MB of WAV
      outputs: [ep],
      rate: Infinity,
      chunkBytes: 32 * 1024,
      waitClients: 2,
    });
    cleanups.push(() => sender.stop());
    const port = sender.tcpAddresses()[0]!.port;
    const healthy = await tcpClient(port, { frame: false });
    const stuck = await tcpClient(port, { frame: false });
    stuck.socket.pause();
    await healthy.ended;
    await sender.done;
    expect(sender.stats.outputs[0]!.clientsDropped).toBe(1);
    expect(healthy.received()).toBeGreaterThan(35_000_000);
  });

  it('--max-clients: extra connections are closed at once and counted', async () => {
    const sender = await startSender({ channels: await resolveSource('tone'), outputs: [ep], rate: 1_000_000, maxClients: 1 });
    cleanups.push(() => sender.stop());
    const port = sender.tcpAddresses()[0]!.port;
    const first = await tcpClient(port);
    const second = await tcpClient(port);
    await second.ended;
    expect(second.received()).toBe(0);
    expect(await waitFor(() => first.chunks.some((c) => c.kind === Kind.Data), 2000)).toBe(true);
    expect(sender.stats.outputs[0]).toMatchObject({ clients: 1, clientsAccepted: 1, clientsRefused: 1 });
    // What a client sends is read and discarded.
    first.socket.write(Buffer.alloc(10_000));
    expect(await waitFor(() => sender.stats.outputs[0]!.bytesDiscarded === 10_000, 2000)).toBe(true);
    await sender.stop();
    await first.ended;
    expect(first.chunks.at(-1)!.kind).toBe(Kind.EndOfStream);
  });
});
