#!/usr/bin/env node
// TCP fan-out on loopback (issue 13, part 4; a script, not in npm test): one `ipcast send`
// (or send -> `ipcast relay`, with --via-relay) serves N TCP clients at a rate; the clients,
// spread over --procs client processes, check every byte (sha256 of the data payloads against
// the file's) and that the end of stream arrived. Prints wall time against the stream's
// duration, the server's peak RSS and CPU, per client, and the aggregate egress.
//
//   node scripts/tcp-fanout.mjs --clients 10000 --rate 128k --seconds 10 --procs 4
//   node scripts/tcp-fanout.mjs --clients 1000 --rate 2M --seconds 10 --procs 4 [--via-relay]
//   [--chunk BYTES] (send's payload size)  [--no-crc] (clients skip the CRC-32C; sha256 still checks)
//   [--window N] (clients per proc waiting for their first byte)
//   [--iperf3] after the fan-out, `iperf3 -c 127.0.0.1 -P 8 -t SECONDS` against a one-shot
//              `iperf3 -s -1` on 127.0.0.1 in the same run: loopback's TCP ceiling, beside ours
//
// Every process runs under `prlimit --nofile=HARD:HARD` (the soft fd limit raised to the hard).
// Bounded: the whole run is killed after 3 x the stream's duration + 60 s.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const BIN = join(ROOT, 'bin/ipcast.js');
const { ChunkFramer } = await import(join(ROOT, 'dist/shared/framer.js'));
const { Kind, peekHeader, HEADER_BYTES } = await import(join(ROOT, 'dist/shared/protocol.js'));

// --no-crc: the clients cut frames with peekHeader (magic, version, kind, length) and skip the
// CRC-32C, which runs at ~285 MB/s in JS and is most of the clients' CPU at 1,000 x 4 Mbit/s;
// the sha256 of the payloads still proves every byte. Default: the full ChunkFramer.
const ALL_ACCEPTED = 'tcp-fanout worker: all accepted';

function lightFramer({ chunk, error }) {
  let pending = Buffer.alloc(0);
  return {
    push(data) {
      const buf = pending.length === 0 ? data : Buffer.concat([pending, data]);
      let off = 0;
      while (buf.length - off >= HEADER_BYTES) {
        const len = peekHeader(buf, off);
        if (typeof len === 'string') return error(len);
        if (buf.length - off < HEADER_BYTES + len) break;
        chunk({ kind: buf[off + 5], payload: buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len) });
        off += HEADER_BYTES + len;
      }
      pending = buf.subarray(off);
    },
  };
}

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? '1' : all[i + 1]]] : acc), []),
);

if (args.worker) {
  // Client process: N connections to PORT; prints one JSON line when every one has ended.
  // A connection counts as accepted by the server when its first byte (the guide, sent at
  // accept) arrives: the kernel completes the handshake before the server accepts, and when
  // the server's accept queue overflows the kernel drops the client's final ACK, so "connect"
  // alone proves nothing. At most --window connections wait for their first byte at once (so
  // the procs together stay under the listen backlog); one with no byte after --first-byte-ms
  // is closed and opened again (counted in retries, at most 3 times per client).
  const n = Number(args.worker);
  const port = Number(args.port);
  const window = Number(args.window ?? 250);
  const firstByteMs = Number(args['first-byte-ms'] ?? 5000);
  let accepted = 0;
  let retries = 0;
  let lastAcceptAt = 0;
  let firstDataAt = Infinity;
  let lastEosAt = 0;
  let pending = 0;
  let slotFree = () => {};
  const release = () => (pending--, slotFree());
  const one = (attempt = 0) =>
    new Promise((resolve) => {
      pending++;
      const hash = createHash('sha256');
      let eos = false;
      let bytes = 0;
      let first = false;
      const framer = (args['no-crc'] ? lightFramer : (h) => new ChunkFramer(h))({
        chunk: (c) => {
          if (c.kind === Kind.Data) {
            if (bytes === 0) firstDataAt = Math.min(firstDataAt, Date.now());
            hash.update(c.payload);
            bytes += c.payload.length;
          } else if (c.kind === Kind.EndOfStream) (eos = true), (lastEosAt = Math.max(lastEosAt, Date.now()));
        },
        error: () => {},
      });
      const s = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        if (first || attempt >= 3) return;
        retries++;
        s.removeAllListeners('close');
        s.on('error', () => {});
        s.destroy();
        release();
        resolve(one(attempt + 1));
      }, firstByteMs);
      s.on('data', (b) => {
        if (!first) {
          first = true;
          clearTimeout(timer);
          release();
          lastAcceptAt = Date.now();
          if (++accepted % 1000 === 0) process.stderr.write(`worker ${process.pid}: ${accepted} accepted (first byte in)\n`);
          if (accepted === n) process.stderr.write(`${ALL_ACCEPTED}\n`);
        }
        framer.push(b);
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        if (!first) release();
        resolve({ digest: hash.digest('hex'), bytes, eos });
      });
    });
  const all = [];
  for (let i = 0; i < n; i++) {
    while (pending >= window) await new Promise((r) => (slotFree = r));
    all.push(one());
  }
  const done = await Promise.all(all);
  process.stdout.write(JSON.stringify({ retries, lastAcceptAt, firstDataAt, lastEosAt, lines: done.map((d) => `${d.digest} ${d.bytes} ${d.eos}`) }) + '\n');
  process.exit(0);
}

const clients = Number(args.clients ?? 1000);
const procs = Number(args.procs ?? 4);
const seconds = Number(args.seconds ?? 10);
const rateText = args.rate ?? '128k';
const rate = Number.parseFloat(rateText) * ({ k: 1e3, K: 1e3, M: 1e6 }[rateText.slice(-1)] ?? 1);
const bytes = Math.floor((rate / 8) * seconds);
const dir = mkdtempSync(join(tmpdir(), 'ipcast-fanout-'));
const file = join(dir, 'in.bin');
const data = randomBytes(bytes);
writeFileSync(file, data);
const digest = createHash('sha256').update(data).digest('hex');
const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
const lim = ['prlimit', `--nofile=${hard}:${hard}`, '--'];
const free = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });

const children = [];
const killer = setTimeout(() => {
  console.error('tcp-fanout: timed out; killing the sender, relay and client processes');
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}, (3 * seconds + 60) * 1000);
const port = await free();
const serverPort = args['via-relay'] ? await free() : port;
const run = (argv, opts = {}) => { const c = spawn(lim[0], [...lim.slice(1), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }); children.push(c); return c; };
const send = run([process.execPath, BIN, 'send', file, '--rate', rateText, ...(args.chunk ? ['--chunk', args.chunk] : []), '--wait-clients', String(args['via-relay'] ? 2 : clients), '--to', `tcp://127.0.0.1:${port}`]);
let server = send;
if (args['via-relay']) {
  server = run([process.execPath, BIN, 'relay', `tcp://127.0.0.1:${port}`, '--to', `tcp://127.0.0.1:${serverPort}`, '--exit-on-eos']);
  server.stderr.on('data', (d) => process.stderr.write(`relay: ${d}`));
}
send.stderr.on('data', (d) => process.stderr.write(`send: ${d}`));
await new Promise((r) => setTimeout(r, 1000));
const cpu = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; } catch { return NaN; } };
let peakRss = 0;
const sampler = setInterval(() => { try { peakRss = Math.max(peakRss, Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) * 1024); } catch {} }, 200);
let cpuAtEnd = NaN;
const t0 = performance.now();
const tStart = Date.now();
let allAccepted = 0;
const workers = Array.from({ length: procs }, (_, i) => {
  const n = Math.floor(clients / procs) + (i < clients % procs ? 1 : 0);
  const w = run([process.execPath, fileURLToPath(import.meta.url), '--worker', String(n), '--port', String(serverPort), ...(args.window ? ['--window', args.window] : []), ...(args['no-crc'] ? ['--no-crc'] : [])]);
  w.stderr.on('data', (d) => {
    process.stderr.write(d);
    // --via-relay: the sender waits for 2 clients, the relay and a gate; the gate connects
    // once every client has its first byte from the relay (the guide, which the relay has from
    // the sender's first guide), so the stream starts with all N connected.
    if (args['via-relay'] && String(d).includes(ALL_ACCEPTED) && ++allAccepted === procs) {
      const gate = net.connect(port, '127.0.0.1');
      gate.on('error', () => {});
      gate.resume();
    }
  });
  let out = '';
  w.stdout.on('data', (d) => (out += d));
  return new Promise((r) => w.on('close', () => r(out ? JSON.parse(out) : { retries: 0, lines: [] })));
});
const serverCpu = new Promise((r) => { const t = setInterval(() => { const c = cpu(server.pid); if (!Number.isNaN(c)) cpuAtEnd = c; }, 200); server.on('close', () => (clearInterval(t), r())); });
const results = await Promise.all(workers);
const lines = results.flatMap((r) => r.lines);
const retries = results.reduce((n, r) => n + r.retries, 0);
// Phases, on the clients' clocks (one machine): connecting (until the last client's first
// byte), and the stream (the first data byte at any client to the last end of stream).
const connectSeconds = (Math.max(...results.map((r) => r.lastAcceptAt ?? 0)) - tStart) / 1000;
const streamWall = (Math.max(...results.map((r) => r.lastEosAt ?? 0)) - Math.min(...results.map((r) => r.firstDataAt ?? Infinity))) / 1000;
const wall = (performance.now() - t0) / 1000;
await serverCpu;
clearInterval(sampler);
clearTimeout(killer);
const exact = lines.filter((l) => l === `${digest} ${bytes} true`).length;
const egress = (clients * bytes * 8) / wall / 1e6;
console.log(JSON.stringify({
  clients, rate: rateText, chunk: args.chunk ? Number(args.chunk) : 'default', clientCrc: !args['no-crc'], streamSeconds: seconds, bytesPerClient: bytes, viaRelay: Boolean(args['via-relay']),
  byteExact: exact, notExact: clients - exact, connectRetries: retries, wallSeconds: +wall.toFixed(2), wallOverStream: +(wall / seconds).toFixed(3),
  connectSeconds: +connectSeconds.toFixed(2), streamWallSeconds: +streamWall.toFixed(2), streamWallOverStream: +(streamWall / seconds).toFixed(3),
  serverPeakRssMB: +(peakRss / 2 ** 20).toFixed(1), serverRssKBPerClient: +(peakRss / 1024 / clients).toFixed(1),
  serverCpuSeconds: cpuAtEnd, serverCpuMsPerClient: +((cpuAtEnd * 1000) / clients).toFixed(3), aggregateEgressMbitPerSec: +egress.toFixed(1),
}));
rmSync(dir, { recursive: true, force: true });
if (args.iperf3) console.log(JSON.stringify({ iperf3P8MbitPerSec: await iperf3(seconds) }));
process.exit(exact === clients ? 0 : 1);

/** iperf3 with 8 parallel streams on 127.0.0.1: the aggregate (receiver side), Mbit/s. */
async function iperf3(secs) {
  const p = await free();
  const srv = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(p)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  try {
    const out = execFileSync('iperf3', ['-c', '127.0.0.1', '-p', String(p), '-P', '8', '-t', String(secs), '-J'], { encoding: 'utf8', timeout: (secs + 30) * 1000 });
    return +(JSON.parse(out).end.sum_received.bits_per_second / 1e6).toFixed(1);
  } finally {
    srv.kill();
  }
}
