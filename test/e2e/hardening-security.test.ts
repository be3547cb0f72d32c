/**
 * Who may touch the stream: the receiver's System V objects are private (IPC_PRIVATE) and
 * 0600, so another uid (nobody, via setpriv; root only) can neither attach, read, write nor remove them;
 * /metrics binds 127.0.0.1 unless told; the TCP server ignores what clients send; the
 * receiver's framer caps frame size without buffering; multicast TTL is 1 by default (read
 * back from the setsockopt the sender makes, with strace); names from the network and the
 * --exec line never reach a shell.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ChunkFramer } from '../../src/shared/framer.js';
import { encodeGuide, type ChannelInfo } from '../../src/shared/guide.js';
import { Kind, MAGIC, encodeChunk } from '../../src/shared/protocol.js';
import { parseEndpoint, type UdpEndpoint } from '../../src/shared/url.js';
import { listSysv } from '../../src/transport/sysvipc.js';
import { ipcast } from '../helpers/cli.js';
import { connectWhenListening, freePort } from '../helpers/procs.js';
import { killAllH, parseSummary, registryIds, rssKiB, sleep, spawnH, tempDir } from '../helpers/hardening.js';
import { asNobodyPrefix } from '../helpers/privileges.js';

let probe: string;
let probeDir: string;
beforeAll(() => {
  probeDir = tempDir('ipcast-sec-');
  chmodSync(probeDir, 0o755);
  probe = join(probeDir, 'probe');
  execFileSync('gcc', ['-O1', '-o', probe, join(import.meta.dirname, '..', 'fixtures', 'hardening-sysv-probe.c')]);
  chmodSync(probe, 0o755);
});
afterAll(killAllH);
const procs: ReturnType<typeof spawnH>[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.proc.kill('SIGKILL');
});

const nobody = asNobodyPrefix();
function asNobody(args: string[]): string {
  const r = spawnSync(nobody![0]!, [...nobody!.slice(1), probe, ...args], { encoding: 'utf8' });
  return r.stdout.trim() || `exit ${r.status}: ${r.stderr}`;
}
function asMe(args: string[]): string {
  return spawnSync(probe, args, { encoding: 'utf8' }).stdout.trim();
}

/** A receiver on shm and msg with a live stream; its ids, read from its own registry. */
async function recvWithIds() {
  const reg = tempDir('ipcast-sec-reg-');
  const port = await freePort('udp');
  const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'shm,msg'], { env: { IPCAST_IPC_REGISTRY: reg } });
  procs.push(recv);
  await recv.waitFor(/listening on/);
  const send = spawnH(['send', 'tone', '--rate', '1M', '--to', `udp://127.0.0.1:${port}`]);
  procs.push(send);
  await recv.waitFor(/playing channel/);
  await sleep(300);
  const ids = registryIds(reg);
  expect(ids.map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
  const id = (kind: string) => String(ids.find((o) => o.kind === kind)!.id);
  /** Stops recv and checks the stream went on untouched. */
  const stop = async () => {
    recv.proc.kill('SIGTERM');
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(parseSummary(recv.stderrText()).lost).toBe(0);
  };
  return { reg, ids, shm: id('shm'), sem: id('sem'), msg: id('msg'), stop };
}

describe('System V objects', () => {
  it('are IPC_PRIVATE and 0600, named in a 0700 registry, and open to their owner', async () => {
    const { reg, ids, shm, sem, msg, stop } = await recvWithIds();
    for (const o of ids) {
      const row = listSysv(o.kind).find((r) => r.id === o.id);
      expect(row, `${o.kind} ${o.id}`).toBeDefined();
      expect(row!.key, `${o.kind} key`).toBe(0); // IPC_PRIVATE
      expect(row!.perms & 0o777, `${o.kind} mode`).toBe(0o600);
    }
    // The registry that names them is private too.
    expect(statSync(reg).mode & 0o777).toBe(0o700);
    // The probe works for the owner (the control for the next test).
    expect(asMe(['shmat', shm])).toBe('ok');
    expect(asMe(['semstat', sem])).toBe('ok');
    expect(asMe(['msgstat', msg])).toBe('ok');
    await stop();
  }, 30_000);

  // Switching to another uid takes CAP_SETUID: as an ordinary user this reports itself skipped.
  it.skipIf(!nobody)(`another uid (nobody) cannot attach, read, write, stat or remove them${nobody ? '' : ' (needs root)'}`, async () => {
    const { shm, sem, msg, stop } = await recvWithIds();
    expect(asNobody(['shmat', shm])).toBe('EACCES');
    expect(asNobody(['shmstat', shm])).toBe('EACCES');
    expect(asNobody(['semop', sem])).toBe('EACCES');
    expect(asNobody(['semstat', sem])).toBe('EACCES');
    expect(asNobody(['msgrcv', msg])).toBe('EACCES');
    expect(asNobody(['msgsnd', msg, '1', '16'])).toBe('EACCES');
    expect(asNobody(['msgstat', msg])).toBe('EACCES');
    expect(asNobody(['rmid', 'shm', shm])).toBe('EPERM');
    expect(asNobody(['rmid', 'sem', sem])).toBe('EPERM');
    expect(asNobody(['rmid', 'msg', msg])).toBe('EPERM');
    const ipcrm = spawnSync(nobody![0]!, [...nobody!.slice(1), 'ipcrm', '-q', msg], { encoding: 'utf8' });
    expect(ipcrm.status).not.toBe(0);
    expect(ipcrm.stderr).toMatch(/permission denied|not permitted/i);
    await stop();
  }, 30_000);
});

describe('/metrics', () => {
  it('binds 127.0.0.1 when only a port is given', async () => {
    const port = await freePort('udp');
    const mport = await freePort('tcp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--metrics', String(mport)]);
    procs.push(recv);
    await recv.waitFor(new RegExp(`metrics http://127\\.0\\.0\\.1:${mport}/`));
    // /proc/net/tcp: the listening socket (state 0A) is 0100007F:PORT, not 00000000:PORT.
    const hexPort = mport.toString(16).toUpperCase().padStart(4, '0');
    const listening = (await import('node:fs')).readFileSync('/proc/net/tcp', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === '0A' && f[1]!.endsWith(`:${hexPort}`));
    expect(listening.map((f) => f[1])).toEqual([`0100007F:${hexPort}`]);
    expect((await fetch(`http://127.0.0.1:${mport}/metrics`)).status).toBe(200);
  });
});

describe('the TCP server and the receiver framer', () => {
  it('the sender reads and discards whatever a client writes; the stream to that client is intact', async () => {
    const port = await freePort('tcp');
    const send = spawnH(['send', 'tone', '--rate', '2M', '--to', `tcp://127.0.0.1:${port}`]);
    procs.push(send);
    const sock = await connectWhenListening(port);
    const errors: string[] = [];
    let chunks = 0;
    let guides = 0;
    const framer = new ChunkFramer({ chunk: (c) => (c.kind === Kind.Guide ? guides++ : chunks++), error: (r) => errors.push(r) });
    sock.on('data', (d: Buffer) => framer.push(d));
    // 8 MiB of junk, including things that look like ipcast frames and shell text.
    const junk = Buffer.alloc(1 << 20, 'IPC1$(reboot)\n');
    for (let i = 0; i < 8; i++) if (!sock.write(junk)) await new Promise((r) => sock.once('drain', r));
    await sleep(1000);
    sock.destroy();
    expect(errors).toEqual([]);
    expect(guides).toBeGreaterThanOrEqual(1);
    expect(chunks).toBeGreaterThan(100);
    expect(send.proc.exitCode).toBeNull(); // still serving
  }, 20_000);

  it('recv refuses a frame above 1 MiB without buffering it, and its memory stays flat under 64 MiB of junk', async () => {
    const guide = encodeChunk({ kind: Kind.Guide, channel: 0, sequence: 0, timestampUs: 1 }, encodeGuide([{ id: 1, name: 'x', description: '', bitrate: 0 }]));
    const huge = Buffer.alloc(32);
    huge.writeUInt32BE(MAGIC, 0);
    huge[4] = 1;
    huge[5] = Kind.Data;
    huge.writeUInt16BE(1, 6);
    huge.writeUInt32BE(0x7fffffff, 8);
    const junk = Buffer.alloc(1 << 20, 0x55); // no magic in it
    const good = encodeChunk({ kind: Kind.Data, channel: 1, sequence: 0, timestampUs: 2 }, Buffer.alloc(1316, 7));
    const eos = encodeChunk({ kind: Kind.EndOfStream, channel: 1, sequence: 1, timestampUs: 3 }, Buffer.alloc(0));
    let rssPeak = 0;
    let recvPid = 0;
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      void (async () => {
        sock.write(Buffer.concat([guide, huge]));
        for (let i = 0; i < 64 && !sock.destroyed; i++) {
          if (!sock.write(junk)) await new Promise((r) => sock.once('drain', r));
          if (recvPid && i % 8 === 0) rssPeak = Math.max(rssPeak, rssKiB(recvPid));
        }
        sock.end(Buffer.concat([good, eos]));
      })();
    });
    const port = await freePort('tcp');
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'pipe', '--exit-on-eos']);
      recvPid = recv.proc.pid!;
      await recv.waitFor(/connecting to/);
      const base = rssKiB(recvPid);
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      const s = parseSummary(recv.stderrText());
      expect(s.errors).toEqual({ frame_too_large: 1 });
      expect(s.transports.pipe!.chunks).toBe(1);
      expect(s.bytes).toBeGreaterThan(64 << 20);
      expect(rssPeak - base, `RSS went from ${base} KiB to ${rssPeak} KiB`).toBeLessThan(48 * 1024);
    } finally {
      server.close();
    }
  }, 30_000);
});

describe('/proc/sysvipc modes', () => {
  it('are read as octal (600 is rw-------, 1600 adds SHM_DEST: marked for removal)', () => {
    const dir = tempDir('ipcast-sec-proc-');
    const file = join(dir, 'shm');
    writeFileSync(
      file,
      '       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n' +
        '         0          7   600                  4096   100   100      1     0     0     0     0          0          0 1700000000                  4096                     0\n' +
        '         0          8  1600                  4096   100   100      1     0     0     0     0          0          0 1700000000                  4096                     0\n',
    );
    const rows = listSysv('shm', file);
    expect(rows.map((r) => r.perms)).toEqual([0o600, 0o1600]);
    expect(rows.map((r) => (r.perms & 0o1000) !== 0)).toEqual([false, true]);
  });
});

describe('multicast TTL', () => {
  it('defaults to 1 in the URL parser, and the sender sets IP_MULTICAST_TTL to 1 on its socket (strace)', async () => {
    expect((parseEndpoint('udp://239.255.1.2:5004?iface=127.0.0.1', 'send') as UdpEndpoint).ttl).toBe(1);
    expect((parseEndpoint('udp://239.255.1.2:5004?iface=127.0.0.1&ttl=4', 'send') as UdpEndpoint).ttl).toBe(4);
    const dir = tempDir('ipcast-sec-ttl-');
    const trace = join(dir, 'trace');
    const port = await freePort('udp');
    const group = `239.255.${(port >> 8) & 0xff}.${port & 0xff}`;
    const send = spawnH(['send', 'tone:440:1', '--rate', '64k', '--to', `udp://${group}:${port}?iface=127.0.0.1`], {
      wrap: ['strace', '-f', '-qq', '-e', 'trace=setsockopt', '-o', trace],
    });
    procs.push(send);
    const { readFileSync } = await import('node:fs');
    const read = (): string => {
      try {
        return readFileSync(trace, 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 150 && !/IP_MULTICAST_LOOP/.test(read()); i++) await sleep(100);
    send.proc.kill('SIGKILL');
    await send.proc;
    const text = read();
    // an int (Node's dgram) or an unsigned char (the addon's native/udp_io.c): 4 or 1 bytes
    expect(text).toMatch(/setsockopt\(\d+, SOL_IP, IP_MULTICAST_TTL, (\[1\], 4|"\\1", 1)\) = 0/);
    expect(text).not.toMatch(/IP_MULTICAST_TTL, (\[([02-9]|\d\d+)\]|"\\([02-9]|\d\d+)")/);
    expect(text).toMatch(/IP_MULTICAST_IF/);
  }, 20_000);
});

/** A TCP "sender" on 127.0.0.1 that gives each client a guide with one channel, one data chunk and end of stream. */
async function serveOneStream(channel: ChannelInfo, payload: Buffer): Promise<{ server: net.Server; port: number }> {
  const guide = encodeChunk({ kind: Kind.Guide, channel: 0, sequence: 0, timestampUs: 1 }, encodeGuide([channel]));
  const data = encodeChunk({ kind: Kind.Data, channel: channel.id, sequence: 0, timestampUs: 2 }, payload);
  const eos = encodeChunk({ kind: Kind.EndOfStream, channel: channel.id, sequence: 1, timestampUs: 3 }, Buffer.alloc(0));
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.end(Buffer.concat([guide, data, eos]));
  });
  const port = await freePort('tcp');
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, port };
}

describe('no shell anywhere', () => {
  it('a guide entry with shell metacharacters is shown literally and never run', async () => {
    const dir = tempDir('ipcast-sec-sh-');
    const marker = join(dir, 'pwned');
    const name = `$(touch ${marker})`;
    const description = `; touch ${marker}; \`touch ${marker}\` | touch ${marker} && touch ${marker}`;
    const { server, port } = await serveOneStream({ id: 1, name, description, bitrate: 128000 }, Buffer.from('hello\n'));
    try {
      const table = await ipcast(['guide', `tcp://127.0.0.1:${port}`]);
      expect(table.exitCode, table.stderr).toBe(0);
      expect(table.stdout).toContain(name);
      expect(table.stdout).toContain(description);
      const json = await ipcast(['guide', `tcp://127.0.0.1:${port}`, '--json']);
      expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: 1, name, description })]);
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'shm', '--exec', 'cat', '--exit-on-eos']);
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      expect(recv.stderrText()).toContain(`playing channel 1 (${name})`);
      expect(recv.stdoutText()).toBe('hello\n');
      expect(existsSync(marker)).toBe(false);
    } finally {
      server.close();
    }
  }, 20_000);

  it('terminal escape sequences in a guide entry are shown as \\xHH, never sent to the terminal', async () => {
    const name = 'evil\x1b[2J\x1b]0;owned\x07';
    const description = 'bell\x07 csi\x9b1m del\x7f nl\nend';
    const { server, port } = await serveOneStream({ id: 1, name, description, bitrate: 0 }, Buffer.from('x'));
    try {
      const table = await ipcast(['guide', `tcp://127.0.0.1:${port}`]);
      expect(table.exitCode, table.stderr).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(table.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(table.stdout).toContain('evil\\x1b[2J\\x1b]0;owned\\x07');
      expect(table.stdout).toContain('bell\\x07 csi\\x9b1m del\\x7f nl\\x0aend');
      // JSON keeps the text exactly (escaped by JSON itself)
      const json = await ipcast(['guide', `tcp://127.0.0.1:${port}`, '--json']);
      expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name, description })]);
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'pipe', '--exit-on-eos']);
      expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
      expect(recv.stderrText()).toContain('playing channel 1 (evil\\x1b[2J\\x1b]0;owned\\x07)');
      expect(recv.stderrText()).not.toContain('\x1b');
    } finally {
      server.close();
    }
  });

  it('--exec is split like a shell but run without one: $(...), ; and | stay literal arguments', async () => {
    const dir = tempDir('ipcast-sec-exec-');
    const marker = join(dir, 'pwned');
    const port = await freePort('tcp');
    const data = encodeChunk({ kind: Kind.Data, channel: 1, sequence: 0, timestampUs: 2 }, Buffer.from('x'));
    const eos = encodeChunk({ kind: Kind.EndOfStream, channel: 1, sequence: 1, timestampUs: 3 }, Buffer.alloc(0));
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.end(Buffer.concat([data, eos]));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const recv = spawnH(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'pipe', '--exit-on-eos', '--exec', `echo $(touch ${marker}) ; touch ${marker} | rm -rf ${dir}`]);
      const r = await recv.proc;
      expect(r.exitCode, recv.stderrText()).toBe(0);
      // echo does not read its input, so it exits and is restarted: every line is the literal text.
      const lines = recv.stdoutText().trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const l of lines) expect(l).toBe(`$(touch ${marker}) ; touch ${marker} | rm -rf ${dir}`);
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(dir)).toBe(true);
    } finally {
      server.close();
    }
  });
});

