/**
 * SRT through libsrt (issue 15): `ipcast send --to srt://…` → a seeded two-way lossy path
 * (test/helpers/impair.ts startLossyUdpPath: only SRT data packets are dropped, exact counts)
 * → `ipcast recv srt://@…`, byte-exact at 8 Mbit/s with latency 200 ms; libsrt's own counts in
 * recv's summary agree with the path's; FEC 10x10 arq:never rebuilds isolated losses; a
 * missing library is one line and exit 2.
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
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(paths.map((p) => p.close()));
  paths = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipcast-srt-'));
  dirs.push(d);
  return d;
}

/** An SRT data packet: the F bit (the first bit) is 0; control packets have it set. */
const srtData = (d: Buffer): boolean => d.length > 16 && (d[0]! & 0x80) === 0;
/** The R flag (retransmitted) of an SRT data packet: bit 2 of byte 4. */
const srtLabel = (d: Buffer): string => ((d[4]! & 0x04) !== 0 ? 'retransmission' : 'original');

interface LinkLine {
  packets: number;
  lost: number;
  retransmitted: number;
  recovered: number;
  fec: number;
  tooLate: number;
}

function linkLine(stderr: string): LinkLine {
  const m = /srt \S+: packets (\d+), lost (\d+), retransmitted (\d+), recovered (\d+) \(fec (\d+)\), dropped too late (\d+)/.exec(stderr);
  if (!m) throw new Error(`no srt line in recv's summary:\n${stderr}`);
  const [packets, lost, retransmitted, recovered, fec, tooLate] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { packets, lost, retransmitted, recovered, fec, tooLate };
}

/** send FILE → path → recv; returns what recv's decoder wrote, recv's stderr and the path. */
async function throughPath(opts: { bytes: number; loss: number; burstMax?: number; minGap?: number; seed: number; query: string; sendFormat?: string[] }) {
  const dir = tempDir();
  const src = join(dir, 'in.bin');
  const out = join(dir, 'out.bin');
  const data = randomBytes(rng(opts.seed), opts.bytes);
  writeFileSync(src, data);
  const port = await freePort('udp');
  const recv = spawnIpcast(['recv', `srt://@:${port}?${opts.query}`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
  await recv.waitFor(/listening on srt/);
  const path = await startLossyUdpPath({
    seed: opts.seed,
    loss: opts.loss,
    burstMax: opts.burstMax ?? 1,
    minGap: opts.minGap ?? 0,
    impairable: srtData,
    label: srtLabel,
    toPort: port,
  });
  paths.push(path);
  const send = await ipcast(['send', src, '--rate', '8M', '--to', `srt://127.0.0.1:${path.port}?${opts.query}`], { timeout: 30_000 });
  expect(send.exitCode, send.stderr).toBe(0);
  const r = await recv.proc;
  expect(r.exitCode, recv.stderrText()).toBe(0);
  const rec = path.record;
  console.log(`srt ${opts.query}, loss ${opts.loss} (bursts up to ${opts.burstMax ?? 1}): the path dropped ${rec.dropped} of ${rec.impairable} data packets (${JSON.stringify(rec.droppedBy)}); recv: ${/srt \S+: packets.*?ms/.exec(recv.stderrText())?.[0]}`);
  return { data, got: readFileSync(out), stderr: recv.stderrText(), record: rec };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('SRT through libsrt', () => {
  it('send → 1% random loss → recv: byte-exact at 8 Mbit/s, latency 200 ms; libsrt counts every loss', async () => {
    const { data, got, stderr, record } = await throughPath({ bytes: 1_000_000, loss: 0.01, seed: 1501, query: 'latency=200' });
    expect(sha(got)).toBe(sha(data));
    const l = linkLine(stderr);
    const originals = record.droppedBy.original ?? 0;
    expect(originals).toBeGreaterThan(2);
    // Each dropped original is a gap libsrt saw and repaired by retransmission (a dropped
    // retransmission is asked for again, not a new loss).
    expect(l.lost).toBe(originals);
    expect(l.retransmitted).toBeGreaterThanOrEqual(originals);
    expect(l.tooLate).toBe(0);
    expect(stderr).toMatch(/lost 0;/);
  }, 30_000);

  it('5% loss in bursts of up to 3: byte-exact', async () => {
    const { data, got, stderr, record } = await throughPath({ bytes: 1_000_000, loss: 0.036, burstMax: 3, seed: 1502, query: 'latency=200' });
    expect(sha(got)).toBe(sha(data));
    expect(record.dropped / record.impairable).toBeGreaterThan(0.03);
    expect(record.dropped / record.impairable).toBeLessThan(0.09);
    const l = linkLine(stderr);
    expect(l.lost).toBe(record.droppedBy.original ?? 0);
    expect(l.tooLate).toBe(0);
  }, 30_000);

  it('FEC 10x10 with arq:never rebuilds every isolated loss at 0.5% (no retransmission)', async () => {
    const q = 'latency=200&packetfilter=fec,cols:10,rows:10,arq:never';
    // Isolated: at least 100 packets (one 10x10 matrix) after each loss pass untouched.
    const { data, got, stderr, record } = await throughPath({ bytes: 1_000_000, loss: 0.005, minGap: 100, seed: 1503, query: q });
    expect(record.dropped).toBeGreaterThan(0);
    expect(sha(got)).toBe(sha(data));
    const l = linkLine(stderr);
    expect(l.retransmitted).toBe(0);
    expect(l.fec).toBeGreaterThanOrEqual(record.droppedBy.original ?? 0);
  }, 30_000);

  it('encrypted (passphrase, pbkeylen=32): byte-exact; a wrong passphrase never delivers', async () => {
    const { data, got } = await throughPath({ bytes: 300_000, loss: 0, seed: 1504, query: 'latency=120&passphrase=correct-horse-battery&pbkeylen=32' });
    expect(sha(got)).toBe(sha(data));
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `srt://@:${port}?passphrase=correct-horse-battery`, '--exit-on-eos', '--idle-timeout', '2'], { timeoutMs: 15_000 });
    await recv.waitFor(/listening on srt/);
    const send = await ipcast(['send', 'tone:440:1', '--to', `srt://127.0.0.1:${port}?passphrase=wrong-horse-battery&conntimeo=1500`], { timeout: 15_000 });
    expect(send.exitCode).toBe(1);
    expect(send.stderr.trim().split('\n')).toHaveLength(1);
    expect(send.stderr).toMatch(/cannot connect/);
  }, 30_000);

  it('rendezvous (both sides call each other): byte-exact', async () => {
    const dir = tempDir();
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1507), 300_000);
    writeFileSync(src, data);
    const [a, b] = [await freePort('udp'), await freePort('udp')];
    const recv = spawnIpcast(['recv', `srt://127.0.0.1:${a}?mode=rendezvous&localport=${b}`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 20_000 });
    await recv.waitFor(/connecting to srt/);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `srt://127.0.0.1:${b}?mode=rendezvous&localport=${a}`], { timeout: 20_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
  }, 20_000);

  it('without libsrt (or librist): one line naming the Debian package, exit 2', async () => {
    const s = await ipcast(['send', 'tone', '--to', 'srt://127.0.0.1:9'], { env: { ...process.env, IPCAST_LIBSRT: 'libnope.so' } as Record<string, string> });
    expect(s.exitCode).toBe(2);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(s.stderr).toMatch(/libsrt1\.5-openssl/);
    const r = await ipcast(['recv', 'rist://@:5000'], { env: { ...process.env, IPCAST_LIBRIST: 'libnope.so' } as Record<string, string> });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/librist4/);
  });

  it('a port another socket holds: srt:// and rist:// listeners exit 1 with one line and the reason (ERR_SRT, ERR_RIST)', async () => {
    const holder = dgram.createSocket('udp4'); // no SO_REUSEADDR: nobody else may bind the port
    const port = 2 * Math.floor((await freePort('udp')) / 2);
    await new Promise<void>((resolve) => holder.bind(port, '0.0.0.0', () => resolve()));
    try {
      const s = await ipcast(['recv', `srt://@:${port}`, '--idle-timeout', '2'], { timeout: 10_000 });
      expect(s.exitCode).toBe(1);
      expect(s.stderr.trim().split('\n'), s.stderr).toHaveLength(1);
      expect(s.stderr).toMatch(/srt srt:\/\/@:\d+: bind :\d+: .*\(Address already in use\)/);
      const r = await ipcast(['recv', `rist://@:${port}`, '--idle-timeout', '2'], { timeout: 10_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/librist cannot open rist:\/\/@0\.0\.0\.0:\d+: Could not bind to interface: Address already in use/);
    } finally {
      holder.close();
    }
  });
});

describe('SRT statistics on /metrics', () => {
  it("ipcast_link_* on recv's /metrics agree with the lossy path's drop count", async () => {
    const dir = tempDir();
    const src = join(dir, 'in.bin');
    writeFileSync(src, randomBytes(rng(1505), 600_000));
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `srt://@:${port}?latency=200`, '--exec', 'cat', '--metrics', '127.0.0.1:0', '--idle-timeout', '30'], { timeoutMs: 30_000 });
    const line = await recv.waitFor(/metrics http:\/\/127\.0\.0\.1:\d+\//);
    const metricsUrl = new URL('metrics', /http:\/\/\S+\//.exec(line)![0]).href;
    const path = await startLossyUdpPath({ seed: 1505, loss: 0.02, impairable: srtData, label: srtLabel, toPort: port });
    paths.push(path);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `srt://127.0.0.1:${path.port}?latency=200`], { timeout: 20_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    await recv.waitFor(/srt: connection lost|srt: closed/, 10_000);
    const text = await (await fetch(metricsUrl)).text();
    const value = (name: string): number => {
      const m = new RegExp(`^${name}\\{[^}]*proto="srt"[^}]*\\} (\\S+)$`, 'm').exec(text);
      if (!m) throw new Error(`${name} not on /metrics:\n${text.slice(0, 2000)}`);
      return Number(m[1]);
    };
    const originals = path.record.droppedBy.original ?? 0;
    expect(originals).toBeGreaterThan(3);
    expect(value('ipcast_link_lost_packets_total')).toBe(originals);
    expect(value('ipcast_link_recovered_packets_total')).toBeGreaterThanOrEqual(originals);
    expect(value('ipcast_link_dropped_too_late_packets_total')).toBe(0);
    expect(value('ipcast_link_rtt_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('ipcast_link_received_packets_total')).toBeGreaterThan(400);
    // The dashboard's data carries the same figures.
    const snap = (await (await fetch(new URL('snapshot.json', metricsUrl))).json()) as { links: { proto: string; lost: number }[] };
    expect(snap.links.find((l) => l.proto === 'srt')?.lost).toBe(originals);
    recv.proc.kill('SIGTERM');
    await recv.proc;
  }, 30_000);
});

describe('SRT through ipcast relay', () => {
  it('send → 1% loss → relay srt://@ in, srt://@ out → recv (caller): byte-exact, headers preserved', async () => {
    const dir = tempDir();
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1506), 500_000);
    writeFileSync(src, data);
    const [inPort, outPort] = [await freePort('udp'), await freePort('udp')];
    const relay = spawnIpcast(['relay', `srt://@:${inPort}?latency=200`, '--to', `srt://@:${outPort}`, '--exit-on-eos'], { timeoutMs: 30_000 });
    await relay.waitFor(/relaying srt/);
    const recv = spawnIpcast(['recv', `srt://127.0.0.1:${outPort}`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
    await recv.waitFor(/srt: 127\.0\.0\.1:\d+ connected/); // recv's call reached the relay's output
    const path = await startLossyUdpPath({ seed: 1506, loss: 0.01, impairable: srtData, label: srtLabel, toPort: inPort });
    paths.push(path);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `srt://127.0.0.1:${path.port}?latency=200`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(path.record.dropped).toBeGreaterThan(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
    expect(recv.stderrText()).toMatch(/lost 0;/);
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
  }, 30_000);
});
