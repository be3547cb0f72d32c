/**
 * `ipcast relay` on loopback: a chain of three relays (TCP in -> multicast on lo -> UDP
 * unicast -> TCP out) is byte-exact into pipe, shm and msg, and passes every chunk on with the
 * origin's header (sequence number, timestamp, channel) unchanged; usage errors are one line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ChunkFramer } from '../../src/shared/framer.js';
import { Kind, type Chunk } from '../../src/shared/protocol.js';
import { ipcast } from '../helpers/cli.js';
import { connectWhenListening, freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

let dir: string;
let file: string;
let digest: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-relay-'));
  file = join(dir, 'random.bin');
  const data = randomBytes(1_000_000);
  writeFileSync(file, data);
  digest = createHash('sha256').update(data).digest('hex');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

function digestsIn(text: string): string[] {
  return [...text.matchAll(/^([0-9a-f]{64})  -$/gm)].map((m) => m[1]!);
}

/** Every chunk a TCP server sends until it closes, as "kind channel sequence timestamp payload-sha256". */
function record(sock: Socket): Promise<string[]> {
  const seen: string[] = [];
  const framer = new ChunkFramer({
    chunk: (c: Chunk) => seen.push(`${c.kind} ${c.channel} ${c.sequence} ${c.timestampUs} ${createHash('sha256').update(c.payload).digest('hex').slice(0, 16)}`),
    error: (reason) => seen.push(`error ${reason}`),
  });
  sock.on('data', (b: Buffer) => framer.push(b));
  return new Promise((resolve) => sock.on('close', () => resolve(seen)));
}

describe('ipcast relay', () => {
  it('a chain of three relays (TCP -> multicast on lo -> UDP unicast -> TCP) is byte-exact, headers as the origin sent them', async () => {
    const [p1, p4] = [await freePort('tcp'), await freePort('tcp')];
    const [p2, p3] = [await freePort('udp'), await freePort('udp')];
    const group = `239.255.${(p2 >> 8) & 0xff}.${p2 & 0xff}`;
    const recv = spawnIpcast(['recv', `tcp://127.0.0.1:${p4}`, '--transport', 'pipe,shm,msg', '--exec', 'sha256sum', '--exit-on-eos']);
    const r3 = spawnIpcast(['relay', `udp://@127.0.0.1:${p3}`, '--to', `tcp://127.0.0.1:${p4}`, '--exit-on-eos']);
    const r2 = spawnIpcast(['relay', `udp://@${group}:${p2}?iface=127.0.0.1`, '--to', `udp://127.0.0.1:${p3}`, '--exit-on-eos']);
    await Promise.all([r3.waitFor(/relaying/), r2.waitFor(/relaying/)]);
    const atEnd = record(await connectWhenListening(p4));
    const r1 = spawnIpcast(['relay', `tcp://127.0.0.1:${p1}`, '--to', `udp://${group}:${p2}?iface=127.0.0.1&ttl=0`, '--exit-on-eos']);
    await r1.waitFor(/relaying/);
    // The sender serves the first relay and this test's own client: the origin's chunks.
    const send = spawnIpcast(['send', file, '--rate', '16M', '--wait-clients', '2', '--to', `tcp://127.0.0.1:${p1}`]);
    await send.waitFor(/waiting for 2/);
    const atOrigin = record(await connectWhenListening(p1));
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    for (const r of [r1, r2, r3]) {
      expect((await r.proc).exitCode, r.stderrText()).toBe(0);
      expect(r.stderrText()).toMatch(/lost 0; reordered 0; duplicates 0; decode errors 0; .* dropped 0, send errors 0/);
    }
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(digestsIn(recv.stdoutText())).toEqual([digest, digest, digest]);

    // Data and end of stream: the same chunks, same numbers and timestamps, in the same order.
    const [origin, end] = [await atOrigin, await atEnd];
    const dataAndEnd = (list: string[]): string[] => list.filter((l) => l.startsWith(`${Kind.Data} `) || l.startsWith(`${Kind.EndOfStream} `));
    expect(dataAndEnd(origin).length).toBe(Math.ceil(1_000_000 / 1316) + 1);
    expect(dataAndEnd(end)).toEqual(dataAndEnd(origin));
    // The guide is passed on as sent (each guide at the end is one the origin sent).
    const guides = (list: string[]): string[] => list.filter((l) => l.startsWith(`${Kind.Guide} `));
    expect(guides(end).length).toBeGreaterThan(0);
    for (const g of guides(end)) expect(guides(origin)).toContain(g);
  });

  it.each([
    [[], /^ipcast: relay: missing URL/],
    [['udp://@127.0.0.1:5004'], /^ipcast: relay: no outputs: give at least one --to URL/],
    [['udp://@127.0.0.1:5004', '--to', 'udp://239.1.1.1:5004'], /^ipcast: bad URL 'udp:\/\/239\.1\.1\.1:5004': .*must name its interface/],
    [['tcp://127.0.0.1:5004', '--to', 'tcp://127.0.0.1:5005', '--max-clients', '0'], /^ipcast: --max-clients/],
  ])('usage error %j: exit 2, one line', async (args, line) => {
    const r = await ipcast(['relay', ...args]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(line);
  });

  it('an output it cannot open (port taken): exit 1, one line', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    const r = await ipcast(['relay', `udp://@127.0.0.1:${await freePort('udp')}`, '--to', `tcp://127.0.0.1:${port}`], { timeout: 10_000 });
    holder.close();
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ipcast: .*address already in use/i);
  });
});
