/**
 * Multicast through a real router: `ipcast send` in a sender namespace, smcroute forwarding
 * in a router namespace, receivers in three segments behind it (scripts/mcast-topology.sh,
 * built once for this file and torn down after it, even on failure). Every packet stays in
 * the namespaces this file creates. Needs root; skipped as an ordinary user.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { killAll, spawnIpcast, type Proc } from '../helpers/cli.js';
import { GROUPS, NEEDS_ROOT, NETNS_OK, ROUTER_ON_SENDER_SEGMENT, SEGMENTS, SENDER, topologyUp, type Topology } from '../helpers/netns.js';

let dir: string;
let file: string;
let digest: string;
let topo: Topology | undefined;
const EMPTY = createHash('sha256').digest('hex');
const PORT = 5004;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-routed-'));
  file = join(dir, 'random.bin');
  const data = randomBytes(300_000);
  writeFileSync(file, data);
  digest = createHash('sha256').update(data).digest('hex');
  if (NETNS_OK) topo = topologyUp('m');
});
afterEach(killAll);
afterAll(async () => {
  await killAll();
  topo?.down();
  rmSync(dir, { recursive: true, force: true });
});

function digestsIn(text: string): string[] {
  return [...text.matchAll(/^([0-9a-f]{64})  -$/gm)].map((m) => m[1]!);
}

/** recv in namespace `leaf`, decoded by sha256sum; ends at end of stream or after `idle` s of nothing. */
function recvIn(leaf: string, url: string, transport: string, idle = 8): Proc {
  return spawnIpcast(['recv', url, '--transport', transport, '--exec', 'sha256sum', '--exit-on-eos', '--idle-timeout', String(idle)], {
    wrap: topo!.wrap(leaf),
    timeoutMs: 30_000,
  });
}

async function sendFrom(to: string): Promise<void> {
  const send = spawnIpcast(['send', file, '--rate', '8M', '--to', to], { wrap: topo!.wrap('s'), timeoutMs: 20_000 });
  const r = await send.proc;
  expect(r.exitCode, send.stderrText()).toBe(0);
}

/** Waits (bounded: 10 s) until a TCP connection to `port` is established in namespace `ns`. */
async function established(ns: string, port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Htn', 'state', 'established', `sport = :${port}`], { encoding: 'utf8' });
    if (out.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no TCP connection to port ${port} in ${ns} within 10 s`);
}

async function finished(p: Proc): Promise<string> {
  const r = await p.proc;
  expect(r.exitCode, p.stderrText()).toBe(0);
  return p.stdoutText();
}

describe('IPv4 multicast across an smcroute router', () => {
  it.skipIf(!NETNS_OK)(`ttl=4: 3 segments x 2 receivers, byte-exact into pipe, shm and msg${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm}.1`;
    const recvs = SEGMENTS.flatMap((s) => [
      recvIn(s.leaf, `udp://@${group}:${PORT}?iface=${s.v4}`, 'pipe,shm,msg'),
      recvIn(s.leaf, `udp://@${group}:${PORT}?iface=${s.v4}`, 'shm,msg'),
    ]);
    await Promise.all(recvs.map((r) => r.waitFor(/listening on/)));
    await sendFrom(`udp://${group}:${PORT}?iface=${SENDER.v4}&ttl=4`);
    const outs = await Promise.all(recvs.map(finished));
    outs.forEach((out, i) => expect(digestsIn(out), recvs[i]!.stderrText()).toEqual(Array(i % 2 === 0 ? 3 : 2).fill(digest)));
    for (const r of recvs) expect(r.stderrText()).toMatch(/lost 0;/);
  });

  it.skipIf(!NETNS_OK)(`ttl=1: the sender's own segment gets the stream, nothing crosses the router${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm}.2`;
    const beside = recvIn('r', `udp://@${group}:${PORT}?iface=${ROUTER_ON_SENDER_SEGMENT.v4}`, 'pipe');
    const behind = SEGMENTS.map((s) => recvIn(s.leaf, `udp://@${group}:${PORT}?iface=${s.v4}`, 'pipe', 2));
    await Promise.all([beside, ...behind].map((r) => r.waitFor(/listening on/)));
    await sendFrom(`udp://${group}:${PORT}?iface=${SENDER.v4}&ttl=1`);
    expect(digestsIn(await finished(beside))).toEqual([digest]);
    for (const r of behind) {
      expect(digestsIn(await finished(r))).toEqual([EMPTY]);
      expect(r.stderrText()).toMatch(/received 0 chunks \(0 bytes\)/);
    }
  });

  it.skipIf(!NETNS_OK)(`source-specific joins across the router: the right source byte-exact, a wrong one nothing${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.ssm}.1`;
    const right = SEGMENTS.map((s, i) => recvIn(s.leaf, `udp://@${group}:${PORT}?iface=${s.v4}&source=${SENDER.v4}`, ['pipe', 'shm', 'msg'][i]!));
    const wrong = recvIn('a', `udp://@${group}:${PORT}?iface=${SEGMENTS[0].v4}&source=10.13.0.9`, 'pipe', 2);
    await Promise.all([...right, wrong].map((r) => r.waitFor(/listening on/)));
    await sendFrom(`udp://${group}:${PORT}?iface=${SENDER.v4}&ttl=4`);
    for (const r of right) expect(digestsIn(await finished(r))).toEqual([digest]);
    expect(digestsIn(await finished(wrong))).toEqual([EMPTY]);
    expect(wrong.stderrText()).toMatch(/received 0 chunks/);
  });
});

describe('IPv6 multicast across an smcroute router (node:dgram in recv)', () => {
  it.skipIf(!NETNS_OK)(`ff15:: hop limit 4: 3 segments byte-exact into pipe, shm and msg; iface by name or address${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm6}1`;
    const recvs = SEGMENTS.map((s, i) => recvIn(s.leaf, `udp://@[${group}]:${PORT}?iface=${i === 1 ? s.v6 : 'eth0'}`, 'pipe,shm,msg'));
    await Promise.all(recvs.map((r) => r.waitFor(/listening on/)));
    await sendFrom(`udp://[${group}]:${PORT}?iface=eth0&ttl=4`);
    for (const r of recvs) {
      expect(digestsIn(await finished(r)), r.stderrText()).toEqual([digest, digest, digest]);
      expect(r.stderrText()).toMatch(/lost 0;/);
    }
  });

  it.skipIf(!NETNS_OK)(`ff15:: hop limit 1: the sender's segment only${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm6}2`;
    const beside = recvIn('r', `udp://@[${group}]:${PORT}?iface=vs`, 'shm');
    const behind = SEGMENTS.map((s) => recvIn(s.leaf, `udp://@[${group}]:${PORT}?iface=eth0`, 'pipe', 2));
    await Promise.all([beside, ...behind].map((r) => r.waitFor(/listening on/)));
    await sendFrom(`udp://[${group}]:${PORT}?iface=${SENDER.v6}&ttl=1`);
    expect(digestsIn(await finished(beside))).toEqual([digest]);
    for (const r of behind) {
      expect(digestsIn(await finished(r))).toEqual([EMPTY]);
      expect(r.stderrText()).toMatch(/received 0 chunks \(0 bytes\)/);
    }
  });

  it.skipIf(!NETNS_OK)(`ff3e:: source-specific (right source byte-exact, wrong one nothing) and IPv6 unicast through the router${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.ssm6}1`;
    const right = SEGMENTS.map((s, i) => recvIn(s.leaf, `udp://@[${group}]:${PORT}?iface=eth0&source=${SENDER.v6}`, ['pipe', 'shm', 'msg'][i]!));
    const wrong = recvIn('b', `udp://@[${group}]:${PORT}?iface=eth0&source=fd13::9`, 'pipe', 2);
    const unicast = recvIn('c', `udp://@[::]:${PORT + 1}`, 'msg');
    await Promise.all([...right, wrong, unicast].map((r) => r.waitFor(/listening on/)));
    const send = spawnIpcast(['send', file, '--rate', '8M', '--to', `udp://[${group}]:${PORT}?iface=eth0&ttl=4`, '--to', `udp://[${SEGMENTS[2].v6}]:${PORT + 1}`], {
      wrap: topo!.wrap('s'),
      timeoutMs: 20_000,
    });
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    for (const r of [...right, unicast]) expect(digestsIn(await finished(r)), r.stderrText()).toEqual([digest]);
    expect(digestsIn(await finished(wrong))).toEqual([EMPTY]);
    expect(wrong.stderrText()).toMatch(/received 0 chunks/);
  });
});

describe('a relay tree across the segments', () => {
  it.skipIf(!NETNS_OK)(`multicast -> relay in segment a -> TCP through the router -> recv in segment c, and re-multicast in a${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm}.3`;
    const a = SEGMENTS[0];
    const relay = spawnIpcast(
      ['relay', `udp://@${group}:${PORT}?iface=${a.v4}`, '--to', `tcp://${a.v4}:${PORT + 1}`, '--to', `udp://239.14.0.1:${PORT}?iface=${a.v4}&ttl=1`, '--exit-on-eos'],
      { wrap: topo!.wrap('a'), timeoutMs: 30_000 },
    );
    await relay.waitFor(/relaying/);
    const overTcp = recvIn('c', `tcp://${a.v4}:${PORT + 1}`, 'pipe,shm,msg');
    const local = recvIn('a', `udp://@239.14.0.1:${PORT}?iface=${a.v4}`, 'msg');
    await Promise.all([overTcp.waitFor(/connecting to/), local.waitFor(/listening on/)]);
    await established(topo!.ns('a'), PORT + 1);
    await sendFrom(`udp://${group}:${PORT}?iface=${SENDER.v4}&ttl=4`);
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
    expect(relay.stderrText()).toMatch(/lost 0; reordered 0; duplicates 0; decode errors 0;/);
    expect(digestsIn(await finished(overTcp)), overTcp.stderrText()).toEqual([digest, digest, digest]);
    expect(digestsIn(await finished(local)), local.stderrText()).toEqual([digest]);
  });
});

describe('RIST multicast across the router (librist, its sockets pinned by ipcast)', () => {
  it.skipIf(!NETNS_OK)(`ttl=4: 3 segments byte-exact, their RTCP routed back to the sender${NEEDS_ROOT}`, async () => {
    const group = `${GROUPS.asm}.5`;
    const recvs = SEGMENTS.map((s, i) => recvIn(s.leaf, `rist://@${group}:${PORT}?iface=${s.v4}&buffer=1000`, ['pipe', 'shm', 'msg'][i]!));
    await Promise.all(recvs.map((r) => r.waitFor(/listening on/)));
    await sendFrom(`rist://${group}:${PORT}?iface=${SENDER.v4}&ttl=4`);
    for (const r of recvs) {
      expect(digestsIn(await finished(r)), r.stderrText()).toEqual([digest]);
      expect(r.stderrText()).toMatch(/lost 0;/);
    }
  });

  it.skipIf(!NETNS_OK)(`from the router's namespace, which has no default route: only the pinned interface carries it${NEEDS_ROOT}`, async () => {
    // Unpinned, librist's datagrams to the group would find no route here (ENETUNREACH).
    const group = `${GROUPS.asm}.6`;
    const recv = recvIn('s', `rist://@${group}:${PORT}?iface=${SENDER.v4}&buffer=1000`, 'pipe');
    await recv.waitFor(/listening on/);
    const send = spawnIpcast(['send', file, '--rate', '8M', '--to', `rist://${group}:${PORT}?iface=${ROUTER_ON_SENDER_SEGMENT.v4}`], { wrap: topo!.wrap('r'), timeoutMs: 20_000 });
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    expect(send.stderrText()).not.toMatch(/librist/);
    expect(digestsIn(await finished(recv)), recv.stderrText()).toEqual([digest]);
  });
});
