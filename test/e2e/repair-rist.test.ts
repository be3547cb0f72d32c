/**
 * RIST through librist (simple profile; issue 15): `ipcast send --to rist://…` → a seeded
 * lossy path that forwards RTP (impaired) and RTCP (untouched) both ways → `ipcast recv
 * rist://@…`, byte-exact at 8 Mbit/s with 1% loss; then the same to a multicast group on lo,
 * with NACKs going back to the sender.
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ipcast, killAll, spawnIpcast } from '../helpers/cli.js';
import { startLossyUdpPath, type LossyPath } from '../helpers/impair.js';
import { freePort } from '../helpers/procs.js';
import { randomBytes, rng } from '../helpers/rng.js';

let paths: LossyPath[] = [];
let dir = '';
afterEach(async () => {
  await killAll();
  await Promise.all(paths.map((p) => p.close()));
  paths = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('RIST through librist', () => {
  it('send → 1% loss → recv: byte-exact at 8 Mbit/s; librist counts the repairs', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-rist-'));
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1510), 1_500_000);
    writeFileSync(src, data);
    const port = 2 * Math.floor((await freePort('udp')) / 2);
    const recv = spawnIpcast(['recv', `rist://@:${port}?buffer=500`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
    await recv.waitFor(/listening on rist/);
    // RTP data: version 2 (0x80) and not an RTCP packet type (200..204).
    const rtpData = (d: Buffer): boolean => d.length > 12 && (d[0]! & 0xc0) === 0x80 && !(d[1]! >= 200 && d[1]! <= 204);
    const path = await startLossyUdpPath({ seed: 1510, loss: 0.01, impairable: rtpData, toPort: port, ports: 2 });
    paths.push(path);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://127.0.0.1:${path.port}?buffer=500`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    console.log(`rist buffer=500, loss 0.01: the path dropped ${path.record.dropped} of ${path.record.impairable} RTP packets; recv: ${/rist \S+ \S+: packets.*?ms/.exec(recv.stderrText())?.[0]}`);
    expect(path.record.dropped).toBeGreaterThan(5);
    expect(path.record.reverse).toBeGreaterThan(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
    const m = /rist \S+ \S+: packets (\d+), lost (\d+), retransmitted (\d+), recovered (\d+)/.exec(recv.stderrText());
    expect(m, recv.stderrText()).not.toBeNull();
    expect(Number(m![4])).toBeGreaterThan(0);
  }, 30_000);

  // A group of its own per test (parallel files), joined and sent to on lo only.
  const group = (): string => `239.255.${15 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  const evenPort = async (): Promise<number> => 2 * Math.floor((await freePort('udp')) / 2);

  it('multicast: send to a group on lo → recv joined on lo, byte-exact; every datagram to the group left by lo', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-rist-'));
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1511), 600_000);
    writeFileSync(src, data);
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
      const recv = spawnIpcast(['recv', `rist://@${g}:${port}?iface=127.0.0.1&buffer=300`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
      await recv.waitFor(/listening on rist/);
      const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://${g}:${port}?iface=127.0.0.1`], { timeout: 30_000 });
      expect(send.exitCode, send.stderr).toBe(0);
      expect(send.stderr).not.toMatch(/librist/);
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      expect(sha(readFileSync(out))).toBe(sha(data));
    } finally {
      for (const w of watchers) w.close();
    }
    expect([...sources.keys()]).toEqual(['127.0.0.1']);
    expect(sources.get('127.0.0.1')).toBeGreaterThan(400);
  }, 30_000);

  it('multicast with 1% loss between two groups: byte-exact, repaired by NACKs back to the sender', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-rist-'));
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1512), 1_500_000);
    writeFileSync(src, data);
    const [from, to] = [group(), group()];
    const port = await evenPort();
    const recv = spawnIpcast(['recv', `rist://@${to}:${port}?iface=127.0.0.1&buffer=500`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
    await recv.waitFor(/listening on rist/);
    const rtpData = (d: Buffer): boolean => d.length > 12 && (d[0]! & 0xc0) === 0x80 && !(d[1]! >= 200 && d[1]! <= 204);
    const path = await startLossyUdpPath({ seed: 1512, loss: 0.01, impairable: rtpData, toPort: port, ports: 2, fromGroup: from, toGroup: to });
    paths.push(path);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://${from}:${path.port}?iface=127.0.0.1&buffer=500`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    console.log(`rist multicast, loss 0.01: the path dropped ${path.record.dropped} of ${path.record.impairable} RTP packets, carried ${path.record.reverse} back; recv: ${/rist \S+ \S+: packets.*?ms/.exec(recv.stderrText())?.[0]}`);
    expect(path.record.dropped).toBeGreaterThan(5);
    expect(path.record.reverse).toBeGreaterThan(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
    const m = /rist \S+ \S+: packets (\d+), lost (\d+), retransmitted (\d+), recovered (\d+)/.exec(recv.stderrText());
    expect(m, recv.stderrText()).not.toBeNull();
    expect(Number(m![4])).toBeGreaterThan(0);
  }, 30_000);

  it('relay from one group to another over RIST (in and out multicast): byte-exact', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-rist-'));
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1513), 600_000);
    writeFileSync(src, data);
    const [g1, g2] = [group(), group()];
    const [p1, p2] = [await evenPort(), await evenPort()];
    const recv = spawnIpcast(['recv', `rist://@${g2}:${p2}?iface=127.0.0.1&buffer=300`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
    await recv.waitFor(/listening on rist/);
    const relay = spawnIpcast(['relay', `rist://@${g1}:${p1}?iface=127.0.0.1&buffer=300`, '--to', `rist://${g2}:${p2}?iface=127.0.0.1`, '--exit-on-eos'], { timeoutMs: 30_000 });
    await relay.waitFor(/relaying rist/);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://${g1}:${p1}?iface=127.0.0.1`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
  }, 30_000);
});
