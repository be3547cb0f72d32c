/**
 * ipcast recv and ipcast guide as a user meets them: bad input, a slow decoder, signals.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { existingIds, listSysv } from '../../src/transport/sysvipc.js';
import { registryIds } from '../helpers/hardening.js';
import { ipcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-recvcli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

describe('recv: bad input gives one line and the right exit code', () => {
  it.each([
    [['recv'], 2, /missing URL/],
    [['recv', 'udp://@:5004', '--transport', 'carrier-pigeon'], 2, /--transport expects pipe, shm, msg/],
    [['recv', 'udp://@:5004', '--transport', 'shm,shm'], 2, /lists a transport twice/],
    [['recv', 'udp://@:5004', '--format', 'mp3'], 2, /--format must be ipcast or raw/],
    [['recv', 'udp://@:5004', '--exec', 'no-such-decoder-xyz --flag'], 2, /decoder 'no-such-decoder-xyz' not found/],
    [['recv', 'udp://@:5004', '--exec', "echo 'unterminated"], 2, /unterminated ' quote/],
    [['recv', 'udp://@239.255.0.9:5004?iface=10.254.254.254'], 2, /interface address 10\.254\.254\.254 is not on this machine/],
    [['recv', 'udp://@:5004', '--channel', '0'], 2, /--channel must be 1\.\.65535/],
    [['recv', 'udp://@:5004', '--spin-us', 'abc'], 2, /--spin-us expects a whole number, got 'abc'/],
    [['recv', 'udp://@:5004', '--spin-us', '10001'], 2, /--spin-us must be 0\.\.10000, got 10001/],
  ])('%j -> exit %i', async (args, code, message) => {
    const r = await ipcast(args as string[]);
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--spin-us takes 0 and 10000: the three children start with it and recv ends cleanly', async () => {
    for (const spin of ['0', '10000']) {
      const port = await freePort('udp');
      const r = await ipcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm,msg', '--spin-us', spin, '--idle-timeout', '0.3', '--exit-on-eos']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/transports pipe,shm,msg/);
    }
  });

  it('a port in use -> exit 1', async () => {
    const port = await freePort('udp');
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(port, '127.0.0.1', r));
    try {
      const r = await ipcast(['recv', `udp://@127.0.0.1:${port}`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/cannot listen on udp:\/\/@127\.0\.0\.1:\d+: address already in use/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      blocker.close();
    }
  });
});

describe('recv: receive buffer', () => {
  it('says when the kernel gave less than the rcvbuf asked for (rmem_max)', async () => {
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}?rcvbuf=1073741824`, '--idle-timeout', '0.5', '--exit-on-eos']);
    await recv.proc;
    expect(recv.stderrText()).toMatch(/receive buffer: asked 1073741824 bytes, the kernel gave \d+ \(raise net\.core\.rmem_max/);
  });

  it('goes past rmem_max for an explicit rcvbuf when the process has CAP_NET_ADMIN, and says so when it has not', async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const asked = rmemMax * 2;
    const capEff = BigInt('0x' + /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!);
    const netAdmin = (capEff >> 12n) & 1n; // CAP_NET_ADMIN
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}?rcvbuf=${asked}`, '--idle-timeout', '0.5', '--exit-on-eos']);
    await recv.proc;
    if (netAdmin) expect(recv.stderrText()).not.toMatch(/receive buffer: asked/);
    else expect(recv.stderrText()).toMatch(new RegExp(`receive buffer: asked ${asked} bytes, the kernel gave ${rmemMax} `));
  });
});

describe('recv: a decoder that never reads', () => {
  it('keeps memory bounded by dropping the oldest chunks, counted', async () => {
    const port = await freePort('udp');
    const file = join(dir, 'big.bin');
    writeFileSync(file, randomBytes(4_000_000));
    const recv = spawnIpcast([
      'recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe', '--exec', 'sleep 4', '--buffer', '256k', '--exit-on-eos',
    ]);
    await recv.waitFor(/listening on/);
    const send = spawnIpcast(['send', file, '--rate', '40M', '--to', `udp://127.0.0.1:${port}`]);
    expect((await send.proc).exitCode).toBe(0);
    await recv.proc;
    const err = recv.stderrText();
    const dropped = Number(/pipe: handed off \d+ chunks \(\d+ bytes\), dropped (\d+)/.exec(err)![1]);
    // 4 MB sent; the pipe holds 1 MiB and the buffer 256 KiB: most of it must have been dropped.
    expect(dropped).toBeGreaterThan(1000);
  }, 30_000);
});

describe('recv: SIGTERM', () => {
  it('stops cleanly mid-stream and leaves no System V object behind', async () => {
    // Its own registry directory: the ids this receiver created, and nobody else's.
    const reg = join(dir, 'registry-sigterm');
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm,msg'], { env: { IPCAST_IPC_REGISTRY: reg } });
    await recv.waitFor(/listening on/);
    const send = spawnIpcast(['send', 'tone', '--rate', '4M', '--to', `udp://127.0.0.1:${port}`]);
    await recv.waitFor(/playing channel/);
    await new Promise((r) => setTimeout(r, 500));
    const pid = recv.proc.pid!;
    const ids = registryIds(reg);
    // The segment and its semaphore array (shm), the queue (msg): seen, owned by recv, alive.
    expect(ids.map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
    expect(ids.every((o) => o.owner === pid)).toBe(true);
    expect(existingIds(ids)).toHaveLength(3);
    expect(listSysv('shm').find((o) => o.id === ids.find((i) => i.kind === 'shm')!.id)?.cpid).toBe(pid);
    recv.proc.kill('SIGTERM');
    const r = await recv.proc;
    send.proc.kill('SIGTERM');
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(recv.stderrText()).toMatch(/SIGTERM: stopping/);
    for (const t of ['shm', 'msg']) expect(recv.stderrText()).toMatch(new RegExp(`${t}: handed off [1-9]\\d* chunks`));
    expect(existingIds(ids)).toEqual([]);
    expect(readdirSync(reg)).toEqual([]); // the registry files went with them
    for (const kind of ['shm', 'sem', 'msg'] as const) expect(listSysv(kind).filter((o) => o.cpid === pid || o.lspid === pid)).toEqual([]);
  }, 30_000);
});

describe('ipcast guide', () => {
  it('lists the channels of a folder source, as a table and as JSON', async () => {
    const lib = join(dir, 'library');
    mkdirSync(join(lib, 'jazz'), { recursive: true });
    writeFileSync(join(lib, 'jazz', 'desc.txt'), 'Jazz FM\nsmooth and; $(dangerous) `chars`\n');
    writeFileSync(join(lib, 'jazz', 'a.bin'), randomBytes(50_000));
    writeFileSync(join(lib, 'talk.bin'), randomBytes(50_000));
    const port = await freePort('tcp');
    const send = spawnIpcast(['send', lib, '--rate', '64k', '--loop', '--to', `tcp://127.0.0.1:${port}`]);
    await new Promise((r) => setTimeout(r, 500));
    const json = await ipcast(['guide', `tcp://127.0.0.1:${port}`, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const channels = JSON.parse(json.stdout) as Array<{ id: number; name: string; description: string }>;
    expect(channels.length).toBe(2);
    expect(channels.map((c) => c.id)).toEqual([1, 2]);
    expect(JSON.stringify(channels)).toContain('$(dangerous)');
    const table = await ipcast(['guide', `tcp://127.0.0.1:${port}`]);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+BITRATE\s+DESCRIPTION/);
    send.proc.kill('SIGTERM');
  }, 20_000);
});
