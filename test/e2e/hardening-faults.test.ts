/**
 * Faults around a running receiver that test/e2e/recv-faults.test.ts and the transport
 * conformance suite do not cover: the receiver SIGKILLed (its sinks clean up), a sink
 * SIGKILLed (the receiver removes its objects and the new sink gets new ones), both
 * SIGKILLed (`ipcast ipcs --clean` removes the rest), a decoder that closes its stdin early
 * (EPIPE counted), a TCP connection reset in the middle of a frame, and send errors on UDP.
 * Each test gives its receiver its own registry directory, so it checks exactly the System V
 * ids that receiver created.
 */
import { randomBytes as cryptoRandom } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { UdpOutput } from '../../src/sender/outputs/udp.js';
import { Kind, encodeChunk } from '../../src/shared/protocol.js';
import { encodeGuide } from '../../src/shared/guide.js';
import { parseEndpoint, type UdpEndpoint } from '../../src/shared/url.js';
import { existingIds } from '../../src/transport/sysvipc.js';
import { ipcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';
import { childrenOf, commOf, killAllH, parseSummary, registryIds, sleep, spawnH, tempDir } from '../helpers/hardening.js';
import { pidAlive } from '../helpers/transport.js';
import { waitFor } from '../helpers/wait.js';

const stopped: number[] = [];
afterEach(async () => {
  for (const p of stopped.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await killAllH();
});

async function recvWithSinks(transports: string, extra: string[] = []) {
  const reg = tempDir('ipcast-faults-reg-');
  const env = { IPCAST_IPC_REGISTRY: reg };
  const port = await freePort('udp');
  const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', transports, ...extra], { env });
  await recv.waitFor(/listening on/);
  const send = spawnH(['send', 'tone', '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
  await recv.waitFor(/playing channel/);
  await sleep(300);
  const sinks = childrenOf(recv.proc.pid!).filter((p) => commOf(p) === 'ipcast-sink');
  return { reg, env, recv, send, sinks, ids: registryIds(reg) };
}

describe('SIGKILL', () => {
  it('of the receiver: its sinks remove the segment, semaphores and queue, and the registry files', async () => {
    const { reg, recv, sinks, ids } = await recvWithSinks('shm,msg');
    expect(ids.map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
    expect(sinks).toHaveLength(2);
    recv.proc.kill('SIGKILL');
    await recv.proc;
    expect(await waitFor(() => existingIds(ids).length === 0, 5000), `left: ${JSON.stringify(existingIds(ids))}`).toBe(true);
    expect(await waitFor(() => sinks.every((p) => !pidAlive(p)), 3000)).toBe(true);
    expect(readdirSync(reg)).toEqual([]);
  });

  it('of the sink: the receiver removes its objects at once and the restarted sink gets new ones; SIGTERM removes those', async () => {
    const { reg, recv, ids } = await recvWithSinks('msg');
    const sink = childrenOf(recv.proc.pid!).find((p) => commOf(p) === 'ipcast-sink')!;
    process.kill(sink, 'SIGKILL');
    await recv.waitFor(/msg: decoder was killed by SIGKILL; restarting/);
    expect(await waitFor(() => existingIds(ids).length === 0, 3000)).toBe(true);
    expect(await waitFor(() => registryIds(reg).length === 1, 3000)).toBe(true);
    const fresh = registryIds(reg);
    expect(fresh[0]!.id).not.toBe(ids[0]!.id);
    expect(existingIds(fresh)).toHaveLength(1);
    recv.proc.kill('SIGTERM');
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(parseSummary(recv.stderrText()).transports.msg!.restarts).toBe(1);
    expect(existingIds(fresh)).toEqual([]);
    expect(readdirSync(reg)).toEqual([]);
  });

  it('of both at once: the semaphore array and queue stay behind, `ipcast ipcs --clean` removes exactly those', async () => {
    const { reg, env, recv, sinks, ids } = await recvWithSinks('shm,msg');
    // Freeze the sinks first so neither side can clean up: then kill all of them.
    // (recv.proc settles only when its stderr closes, which the stopped sinks hold: wait for the pid.)
    for (const p of sinks) process.kill(p, 'SIGSTOP');
    stopped.push(...sinks);
    const recvPid = recv.proc.pid!;
    recv.proc.kill('SIGKILL');
    expect(await waitFor(() => !pidAlive(recvPid) || commOf(recvPid) === '', 3000)).toBe(true);
    for (const p of sinks) process.kill(p, 'SIGKILL');
    expect(await waitFor(() => sinks.every((p) => !pidAlive(p)), 3000)).toBe(true);
    // The segment was marked for removal when the sink attached: the kernel freed it with the
    // last detach. The semaphore array and the queue are left.
    const left = existingIds(ids);
    expect(left.map((o) => o.kind).sort()).toEqual(['msg', 'sem']);
    const listed = await ipcast(['ipcs'], { env: { ...process.env, ...env } as Record<string, string> });
    for (const o of left) expect(listed.stdout).toMatch(new RegExp(`^${o.kind} +${o.id} +${recv.proc.pid} +gone`, 'm'));
    const clean = await ipcast(['ipcs', '--clean'], { env: { ...process.env, ...env } as Record<string, string> });
    expect(clean.exitCode, clean.stderr).toBe(0);
    for (const o of left) expect(clean.stdout).toContain(`removed ${o.kind} ${o.id}`);
    expect(existingIds(ids)).toEqual([]);
    expect(readdirSync(reg)).toEqual([]);
  });
});

describe.each(['pipe', 'shm', 'msg'])('SIGKILL of the receiver with a decoder behind %s', (transport) => {
  it('a decoder that ignores EOF on stdin (`sleep 600`) does not outlive it', async () => {
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', transport, '--exec', 'sleep 600']);
    await recv.waitFor(/listening on/);
    // pipe: recv's own child (exec'd in place by ipcast-sink --wrap, fd 0 the pipe);
    // shm/msg: the sink's child (the sink sets PR_SET_PDEATHSIG for it).
    const tree = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...tree(c)]);
    // With pipe the child is ipcast-sink --wrap until it execs the decoder in place: poll.
    await waitFor(() => tree(recv.proc.pid!).some((p) => commOf(p) === 'sleep'), 3000);
    const decoder = tree(recv.proc.pid!).find((p) => commOf(p) === 'sleep');
    expect(decoder, `descendants: ${tree(recv.proc.pid!).map(commOf)}`).toBeDefined();
    if (transport === 'pipe') expect(readlinkSync(`/proc/${decoder}/fd/0`)).toMatch(/^pipe:/);
    recv.proc.kill('SIGKILL');
    await recv.proc;
    expect(await waitFor(() => !pidAlive(decoder) || commOf(decoder!) === '', 3000), `decoder ${decoder} still alive`).toBe(true);
  });
});

describe('SIGINT after end of stream while the decoders ignore it (`sleep 600`)', () => {
  it('recv stops them within its 2 s grace, not the 30 s end-of-stream timeout, and exits 0', async () => {
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm', '--exec', 'sleep 600']);
    await recv.waitFor(/listening on/);
    const send = spawnH(['send', 'tone:440:1', '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    await recv.waitFor(/end of stream: closing the decoders' input/);
    const t0 = performance.now();
    recv.proc.kill('SIGINT');
    const r = await recv.proc;
    const ms = performance.now() - t0;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(ms, recv.stderrText()).toBeLessThan(10_000);
    expect(recv.stderrText()).not.toMatch(/did not exit within 30000 ms/);
  }, 30_000);
});

describe('a decoder that closes its stdin early', () => {
  it('EPIPE is counted (pipe: hand-off errors; shm: the sink exits 4), restarts are bounded, recv ends cleanly', async () => {
    const port = await freePort('udp');
    const mport = await freePort('tcp');
    const recv = spawnH([
      'recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm',
      '--exec', "sh -c 'exec 0<&-; sleep 2'", '--max-restarts', '1', '--metrics', `127.0.0.1:${mport}`,
    ]);
    await recv.waitFor(/listening on/);
    spawnH(['send', 'tone', '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
    await recv.waitFor(/pipe: hand-off failed: .*\(EPIPE\)/);
    await recv.waitFor(/shm: sink: the decoder closed its stdin early \(EPIPE\)/);
    const metrics = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
    expect(Number(/ipcast_transport_handoff_errors_total\{transport="pipe"\} (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(1);
    const r = await recv.proc;
    const err = recv.stderrText();
    expect(err).toMatch(/every decoder has failed/);
    expect(r.exitCode, err).toBe(1);
    expect(err).not.toMatch(/at .*\.js:\d+/); // no stack trace
    const s = parseSummary(err);
    expect(s.transports.pipe!.restarts).toBe(1);
    expect(s.transports.shm!.restarts).toBe(1);
  }, 30_000);

  it('`head -c 1000` as the decoder: it gets its 1000 bytes, then recv gives up on it after --max-restarts and exits 1', async () => {
    // A looping file of known bytes (ASCII, so the text of recv's stdout is the bytes): the
    // decoder's stdout is recv's, and it must be exactly the file's first 1000 bytes.
    const dir = tempDir('ipcast-faults-head-');
    const file = Buffer.from(cryptoRandom(150_000).toString('base64').slice(0, 200_000), 'latin1');
    writeFileSync(join(dir, 'in.bin'), file);
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe', '--exec', 'head -c 1000', '--max-restarts', '0']);
    await recv.waitFor(/listening on/);
    spawnH(['send', join(dir, 'in.bin'), '--loop', '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(1);
    expect(recv.stderrText()).toMatch(/pipe: decoder exited with code 0; restart limit \(0\) reached, giving up on it/);
    expect(recv.stdoutText()).toBe(file.subarray(0, 1000).toString('latin1'));
    expect(recv.stderrText()).toMatch(/received \d+ chunks/);
  }, 20_000);
});

describe('TCP connection reset in the middle of a frame', () => {
  it('recv drops the half frame, reconnects, counts it, and the decoder gets every whole chunk byte-exact', async () => {
    const dir = tempDir('ipcast-faults-rst-');
    const out = join(dir, 'out.bin');
    const first = cryptoRandom(200_000);
    const second = cryptoRandom(300_000);
    const guide = encodeChunk({ kind: Kind.Guide, channel: 0, sequence: 0, timestampUs: 1 }, encodeGuide([{ id: 1, name: 'rst', description: '', bitrate: 0 }]));
    const chunks = (data: Buffer, seq0: number): Buffer[] => {
      const list: Buffer[] = [];
      for (let off = 0, seq = seq0; off < data.length; off += 1316, seq++) {
        list.push(encodeChunk({ kind: Kind.Data, channel: 1, sequence: seq, timestampUs: Date.now() * 1000 }, data.subarray(off, off + 1316)));
      }
      return list;
    };
    const c1 = chunks(first, 0);
    const halfFrame = encodeChunk({ kind: Kind.Data, channel: 1, sequence: c1.length, timestampUs: 5 }, cryptoRandom(1316)).subarray(0, 700);
    const c2 = chunks(second, 0); // a restarted sender: sequence starts over
    const eos = encodeChunk({ kind: Kind.EndOfStream, channel: 1, sequence: c2.length, timestampUs: 6 }, Buffer.alloc(0));
    let connections = 0;
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      const n = ++connections;
      if (n === 1) {
        sock.write(Buffer.concat([guide, ...c1, halfFrame]), () => setTimeout(() => sock.resetAndDestroy(), 200));
      } else {
        sock.end(Buffer.concat([guide, ...c2, eos]));
      }
    });
    const port = await freePort('tcp');
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'shm', '--exec', `dd of=${out} bs=65536 status=none`, '--exit-on-eos']);
      const r = await recv.proc;
      const err = recv.stderrText();
      expect(r.exitCode, err).toBe(0);
      expect(err).toMatch(/tcp .*connection reset by peer|tcp: sender closed the connection; reconnecting/);
      const s = parseSummary(err);
      expect(s.reconnects).toBe(1);
      expect(s.errors).toEqual({});
      expect(s.lost).toBe(0);
      expect(readFileSync(out).equals(Buffer.concat([first, second]))).toBe(true);
      expect(connections).toBe(2);
    } finally {
      server.close();
    }
  }, 30_000);
});

describe('send errors on UDP', () => {
  it('an unpaced sender into a tiny receive buffer: the sender exits 0, recv counts what it lost and ends', async () => {
    const dir = tempDir('ipcast-faults-max-');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'in.bin'), cryptoRandom(3_000_000));
    const port = await freePort('udp');
    // --idle-timeout: the stream's end of stream is likely lost too; 3 s, so that a sender slow
    // to start on a loaded machine does not find recv already gone.
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}?rcvbuf=4096`, '--transport', 'pipe', '--exit-on-eos', '--idle-timeout', '3']);
    await recv.waitFor(/listening on/);
    const send = spawnH(['send', join(dir, 'in.bin'), '--rate', 'max', '--to', `udp://127.0.0.1:${port}`]);
    const s = await send.proc;
    expect(s.exitCode, send.stderrText()).toBe(0);
    expect(send.stderrText()).toBe('');
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    const sum = parseSummary(recv.stderrText());
    // 3 MB in 1316-byte chunks is 2280 datagrams; a few KiB of buffer cannot hold them all.
    expect(sum.received, recv.stderrText()).toBeGreaterThan(0);
    expect(sum.received, recv.stderrText()).toBeLessThan(2280);
    expect(sum.lost, recv.stderrText()).toBeGreaterThan(0);
  }, 30_000);

  it('ENOBUFS, ECONNREFUSED and EPERM from the socket are counted by code, EAGAIN is waited out, nothing is thrown (injected)', async () => {
    // Injected because loopback does not produce them on demand: Linux reports a qdisc drop's
    // ENOBUFS only with IP_RECVERR, and a full socket buffer (EAGAIN) is waited for.
    const ep = parseEndpoint(`udp://127.0.0.1:${await freePort('udp')}`, 'send') as UdpEndpoint;
    const out = new UdpOutput(ep);
    await out.open();
    const inner = out as unknown as {
      native: { send: (bufs: Buffer[], head: number) => number } | null;
      socket: { send: (...a: unknown[]) => void } | null;
    };
    const codes = ['ENOBUFS', 'ECONNREFUSED', 'EPERM'];
    let calls = 0;
    let failures = 0;
    if (inner.native) {
      // The addon's sendmmsg path: send() returns datagrams sent or -errno.
      // (its methods are read-only on the wrapped object: put a proxy in front of it)
      const nat = inner.native;
      const real = nat.send.bind(nat);
      const send = (bufs: Buffer[], head: number): number => {
        calls++;
        if (calls === 2) return -osConstants.errno.EAGAIN;
        if (failures < 30) return -osConstants.errno[codes[failures++ % 3] as 'ENOBUFS'];
        return real(bufs, head);
      };
      inner.native = new Proxy(nat, {
        get: (t, p) => {
          if (p === 'send') return send;
          const v = Reflect.get(t, p) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    } else {
      // Node's dgram path.
      const sock = inner.socket!;
      const real = sock.send.bind(sock);
      sock.send = (...args: unknown[]) => {
        if (failures >= 30) return real(...args);
        const code = codes[failures++ % 3]!;
        const cb = args[args.length - 1] as (e: Error | null) => void;
        const e = Object.assign(new Error(`send ${code}`), { code });
        if (failures % 2) setImmediate(() => cb(e));
        else throw e; // a synchronous throw is counted too
      };
    }
    for (let n = 0; n < 40; n++) out.send(Buffer.alloc(100));
    expect(await waitFor(() => out.stats.inflight === 0, 3000)).toBe(true);
    await out.close([]);
    expect(out.stats.sendErrors).toBe(30);
    expect(out.stats.errorsByCode).toEqual({ ENOBUFS: 10, ECONNREFUSED: 10, EPERM: 10 });
    expect(out.stats.chunks).toBe(10);
  });
});
