/**
 * RIST through librist (simple profile; issue 15): `ipcast send --to rist://…` → a seeded
 * lossy path that forwards RTP (impaired) and RTCP (untouched) both ways → `ipcast recv
 * rist://@…`, byte-exact at 8 Mbit/s with 1% loss; then the same to a multicast group on lo,
 * with NACKs going back to the sender, and a relay from one group to another.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ipcast, spawnIpcast } from '../helpers/cli.js';
import type { LossyPathOptions } from '../helpers/impair.js';
import { freePort } from '../helpers/procs.js';
import { scratchPerTest } from '../helpers/scratch.js';

const scratch = scratchPerTest('ipcast-rist-');

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
// A group of its own per test (parallel files), joined and sent to on lo only.
const group = (): string => `239.255.${15 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
const evenPort = async (): Promise<number> => 2 * Math.floor((await freePort('udp')) / 2);
// RTP data: version 2 (0x80) and not an RTCP packet type (200..204).
const rtpData = (d: Buffer): boolean => d.length > 12 && (d[0]! & 0xc0) === 0x80 && !(d[1]! >= 200 && d[1]! <= 204);

/** `ipcast recv URL` writing to `out`, once it listens. */
async function recvTo(url: string, out: string): Promise<ReturnType<typeof spawnIpcast>> {
  const recv = spawnIpcast(['recv', url, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
  await recv.waitFor(/listening on rist/);
  return recv;
}

/**
 * recv on `recvUrl` ← the lossy path (1% of RTP dropped, seeded) ← send to `sendUrl(path's
 * port)`: byte-exact, and librist's own counts show the repairs.
 */
async function throughLoss(seed: number, recvUrl: string, path: Omit<LossyPathOptions, 'seed' | 'loss' | 'impairable' | 'ports'>, sendUrl: (port: number) => string): Promise<void> {
  const { src, out, data } = scratch.files(seed, 1_500_000);
  const recv = await recvTo(recvUrl, out);
  const p = await scratch.lossyPath({ seed, loss: 0.01, impairable: rtpData, ports: 2, ...path });
  const send = await ipcast(['send', src, '--rate', '8M', '--to', sendUrl(p.port)], { timeout: 30_000 });
  expect(send.exitCode, send.stderr).toBe(0);
  expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
  console.log(`${sendUrl(p.port)}, loss 0.01: the path dropped ${p.record.dropped} of ${p.record.impairable} RTP packets, carried ${p.record.reverse} back; recv: ${/rist \S+ \S+: packets.*?ms/.exec(recv.stderrText())?.[0]}`);
  expect(p.record.dropped).toBeGreaterThan(5);
  expect(p.record.reverse).toBeGreaterThan(0);
  expect(sha(readFileSync(out))).toBe(sha(data));
  const m = /rist \S+ \S+: packets (\d+), lost (\d+), retransmitted (\d+), recovered (\d+)/.exec(recv.stderrText());
  expect(m, recv.stderrText()).not.toBeNull();
  // librist's figures come in once a second: the last interval's may be missing from them
  // (in runs here "lost" read 14..16 for 16 drops), so they are bounded, not equal.
  expect(Number(m![2])).toBeLessThanOrEqual(p.record.dropped);
  expect(Number(m![4])).toBeGreaterThan(0);
}

describe('RIST through librist', () => {
  it('send → 1% loss → recv: byte-exact at 8 Mbit/s; librist counts the repairs', async () => {
    const port = await evenPort();
    await throughLoss(1510, `rist://@:${port}?buffer=500`, { toPort: port }, (p) => `rist://127.0.0.1:${p}?buffer=500`);
  }, 30_000);

  it('multicast: send to a group on lo → recv joined on lo, byte-exact; every datagram to the group left by lo', async () => {
    const { src, out, data } = scratch.files(1511, 600_000);
    const g = group();
    const port = await evenPort();
    // A bystander member of the group (port and port+1) notes where each datagram came from:
    // out of lo its source is 127.0.0.1; by another interface it would carry that one's address.
    const sources = new Map<string, number>();
    const watchers = await Promise.all(
      [port, port + 1].map(async (p) => {
        const w = dgram.createSocket({ type: 'udp4', reuseAddr: true });
        w.on('message', (_d, from) => sources.set(from.address, (sources.get(from.address) ?? 0) + 1));
        await new Promise<void>((resolve) => w.bind(p, g, () => resolve()));
        w.addMembership(g, '127.0.0.1');
        return w;
      }),
    );
    try {
      const recv = await recvTo(`rist://@${g}:${port}?iface=127.0.0.1&buffer=1000`, out);
      const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://${g}:${port}?iface=127.0.0.1`], { timeout: 30_000 });
      expect(send.exitCode, send.stderr).toBe(0);
      expect(send.stderr).not.toMatch(/librist/);
      expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
      expect(sha(readFileSync(out))).toBe(sha(data));
    } finally {
      for (const w of watchers) w.close();
    }
    expect([...sources.keys()]).toEqual(['127.0.0.1']);
    expect(sources.get('127.0.0.1')).toBeGreaterThan(400);
  }, 30_000);

  it('multicast with 1% loss between two groups: byte-exact, repaired by NACKs back to the sender', async () => {
    const [from, to] = [group(), group()];
    const port = await evenPort();
    await throughLoss(1512, `rist://@${to}:${port}?iface=127.0.0.1&buffer=500`, { toPort: port, fromGroup: from, toGroup: to }, (p) => `rist://${from}:${p}?iface=127.0.0.1&buffer=500`);
  }, 30_000);

  it('relay from one group to another over RIST (in and out multicast): byte-exact', async () => {
    const { src, out, data } = scratch.files(1513, 600_000);
    const [g1, g2] = [group(), group()];
    const [p1, p2] = [await evenPort(), await evenPort()];
    const recv = await recvTo(`rist://@${g2}:${p2}?iface=127.0.0.1&buffer=1000`, out);
    const relay = spawnIpcast(['relay', `rist://@${g1}:${p1}?iface=127.0.0.1&buffer=1000`, '--to', `rist://${g2}:${p2}?iface=127.0.0.1`, '--exit-on-eos'], { timeoutMs: 30_000 });
    await relay.waitFor(/relaying rist/);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://${g1}:${p1}?iface=127.0.0.1`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
  }, 30_000);

  it("a relay that joins mid-stream, its first RIST packet lost on the way: recv still gets every chunk the relay sent (the second primer)", async () => {
    const { src, out } = scratch.files(1514, 1_500_000);
    const [udpIn, ristOut] = [await freePort('udp'), await evenPort()];
    const recv = await recvTo(`rist://@:${ristOut}?buffer=1000`, out);
    const p = await scratch.lossyPath({ seed: 1514, loss: 0, dropFirst: 1, impairable: rtpData, toPort: ristOut, ports: 2 });
    // The sender starts first, so the relay's first chunk is a data chunk, not the guide.
    const send = spawnIpcast(['send', src, '--rate', '8M', '--to', `udp://127.0.0.1:${udpIn}`], { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const relay = spawnIpcast(['relay', `udp://@127.0.0.1:${udpIn}`, '--to', `rist://127.0.0.1:${p.port}`, '--exit-on-eos'], { timeoutMs: 30_000 });
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(p.record.dropped).toBe(1);
    const sent = /rist:\/\/127\.0\.0\.1:\d+: (\d+) chunks/.exec(relay.stderrText());
    const got = /received (\d+) chunks/.exec(recv.stderrText());
    expect(sent, relay.stderrText()).not.toBeNull();
    expect(Number(got?.[1]), recv.stderrText()).toBe(Number(sent![1]));
    expect(recv.stderrText()).toMatch(/lost 0;/);
  }, 30_000);
});
