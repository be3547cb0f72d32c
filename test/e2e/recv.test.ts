/**
 * ipcast send -> ipcast recv -> a real decoder, end to end, for pipe, shm and msg over UDP
 * unicast, UDP multicast (loopback, interface named) and TCP. All traffic on 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

let dir: string;
let file: string;
let digest: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-recv-'));
  file = join(dir, 'random.bin');
  const data = randomBytes(1_500_000);
  writeFileSync(file, data);
  digest = createHash('sha256').update(data).digest('hex');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

const TRANSPORTS = ['pipe', 'shm', 'msg'] as const;

function digestsIn(text: string): string[] {
  return [...text.matchAll(/^([0-9a-f]{64})  -$/gm)].map((m) => m[1]!);
}

describe.each(TRANSPORTS)('byte-exact over %s', (transport) => {
  it('UDP unicast: the decoder (sha256sum) prints the file digest', async () => {
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', transport, '--exec', 'sha256sum', '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    const send = spawnIpcast(['send', file, '--rate', '40M', '--to', `udp://127.0.0.1:${port}`]);
    expect((await send.proc).exitCode).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(digestsIn(recv.stdoutText())).toEqual([digest]);
    expect(recv.stderrText()).toMatch(/lost 0;/);
    // pipe: sha256sum reads the pipe itself, so nothing verifies or times the chunks there;
    // shm, msg: ipcast-sink reads the transport, verifies every chunk and writes on to sha256sum.
    const handed = Number(new RegExp(`${transport}: handed off (\\d+) chunks`).exec(recv.stderrText())?.[1]);
    expect(handed).toBe(Math.ceil(1_500_000 / 1316));
    if (transport === 'pipe') expect(recv.stderrText()).toMatch(/pipe: [^;]*, sink verified and hand-off latency not measured/);
    else expect(recv.stderrText()).toMatch(new RegExp(`${transport}: [^;]*, sink verified ${handed} chunks, hand-off p50 [\\d.]+ us p99 [\\d.]+ us`));
  });

  it('TCP: the decoder prints the file digest', async () => {
    const port = await freePort('tcp');
    const send = spawnIpcast(['send', file, '--rate', '80M', '--wait-clients', '1', '--to', `tcp://127.0.0.1:${port}`]);
    await send.waitFor(/listening|waiting/i);
    const recv = spawnIpcast(['recv', `tcp://127.0.0.1:${port}`, '--transport', transport, '--exec', 'sha256sum', '--exit-on-eos']);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(digestsIn(recv.stdoutText())).toEqual([digest]);
  });
});

describe('UDP multicast on loopback', () => {
  it('two receivers in one group, one fanning out to pipe, shm and msg, all byte-exact', async () => {
    const port = await freePort('udp');
    const group = `239.255.${(port >> 8) & 0xff}.${port & 0xff}`;
    const url = `udp://@${group}:${port}?iface=127.0.0.1`;
    const a = spawnIpcast(['recv', url, '--transport', 'pipe,shm,msg', '--exec', 'sha256sum', '--exit-on-eos']);
    const b = spawnIpcast(['recv', url, '--transport', 'msg', '--exec', 'sha256sum', '--exit-on-eos']);
    await Promise.all([a.waitFor(/listening on/), b.waitFor(/listening on/)]);
    const send = spawnIpcast(['send', file, '--rate', '40M', '--to', `udp://${group}:${port}?iface=127.0.0.1&ttl=0`]);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    const [ra, rb] = await Promise.all([a.proc, b.proc]);
    expect(ra.exitCode, a.stderrText()).toBe(0);
    expect(rb.exitCode, b.stderrText()).toBe(0);
    expect(digestsIn(a.stdoutText())).toEqual([digest, digest, digest]);
    expect(digestsIn(b.stdoutText())).toEqual([digest]);
  });
});

describe('bad input on the wire', () => {
  it('garbage datagrams are counted and ignored while the stream stays byte-exact', async () => {
    const dgram = await import('node:dgram');
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'shm', '--exec', 'sha256sum', '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    const junk = dgram.createSocket('udp4');
    const send = spawnIpcast(['send', file, '--rate', '12M', '--to', `udp://127.0.0.1:${port}`]);
    // 200 bad datagrams (random bytes, a truncated header, a wrong magic) interleaved with the stream.
    for (let i = 0; i < 200; i++) {
      const bad = i % 3 === 0 ? randomBytes(1 + (i % 90)) : i % 3 === 1 ? Buffer.from('IPC1') : Buffer.concat([Buffer.from('XXXX'), randomBytes(60)]);
      junk.send(bad, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 3));
    }
    junk.close();
    expect((await send.proc).exitCode).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(digestsIn(recv.stdoutText())).toEqual([digest]);
    const errors = /decode errors ([^;]+);/.exec(recv.stderrText())![1]!;
    const total = [...errors.matchAll(/=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    expect(total).toBe(200);
    expect(errors).toMatch(/too_short=\d+/);
    expect(errors).toMatch(/bad_magic=\d+/);
  });
});

describe('source-specific multicast', () => {
  it('a receiver joined for the sender\'s source gets the stream; one joined for another source gets nothing', async () => {
    const port = await freePort('udp');
    const group = `239.254.${(port >> 8) & 0xff}.${port & 0xff}`;
    const right = spawnIpcast(['recv', `udp://@${group}:${port}?iface=127.0.0.1&source=127.0.0.1`, '--transport', 'shm', '--exec', 'sha256sum', '--exit-on-eos']);
    const wrong = spawnIpcast(['recv', `udp://@${group}:${port}?iface=127.0.0.1&source=127.0.0.9`, '--transport', 'shm', '--idle-timeout', '3', '--exit-on-eos']);
    await Promise.all([right.waitFor(/listening on/), wrong.waitFor(/listening on/)]);
    const send = spawnIpcast(['send', file, '--rate', '40M', '--to', `udp://${group}:${port}?iface=127.0.0.1`]);
    expect((await send.proc).exitCode).toBe(0);
    expect((await right.proc).exitCode, right.stderrText()).toBe(0);
    expect(digestsIn(right.stdoutText())).toEqual([digest]);
    await wrong.proc;
    expect(wrong.stderrText()).toMatch(/received 0 chunks/);
  });
});
