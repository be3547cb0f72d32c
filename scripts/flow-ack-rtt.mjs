#!/usr/bin/env node
// Throughput of `send --flow ack` against round-trip time: a real `ipcast send --flow ack` →
// a delaying UDP forwarder on 127.0.0.1 (each direction delayed by RTT/2) → `ipcast recv
// --flow ack`, for a few RTTs. Stop-and-wait carries one chunk per round trip, so the
// expectation is chunk bytes x 8 / RTT. Usage: node scripts/flow-ack-rtt.mjs [BYTES] [RTT_MS...]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = fileURLToPath(new URL('../bin/ipcast.js', import.meta.url));
const bytes = Number(process.argv[2] ?? 400_000);
const rtts = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [0, 1, 2, 5, 10, 20];

function run(args) {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => p.on('exit', (code) => resolve({ code, err })));
  return { p, done, text: () => err };
}

/** Forwards 127.0.0.1:port <-> 127.0.0.1:to, each datagram delayed by `delay` ms each way. */
async function delayPath(to, delay) {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client;
  const seen = { first: 0n, last: 0n, datagrams: 0 };
  const later = (fn) => (delay > 0 ? setTimeout(fn, delay) : fn());
  front.on('message', (d, r) => {
    client = r;
    const now = process.hrtime.bigint();
    if (seen.datagrams++ === 0) seen.first = now;
    seen.last = now;
    later(() => back.send(d, to, '127.0.0.1'));
  });
  back.on('message', (d) => later(() => client && front.send(d, client.port, client.address)));
  await new Promise((r) => front.bind(0, '127.0.0.1', r));
  await new Promise((r) => back.bind(0, '127.0.0.1', r));
  return { port: front.address().port, seen, close: () => (front.close(), back.close()) };
}

const dir = mkdtempSync(join(tmpdir(), 'ipcast-flow-'));
const src = join(dir, 'in.bin');
writeFileSync(src, randomBytes(bytes));
console.log(`send --flow ack, ${bytes} bytes in 1316-byte chunks, loopback + a delaying forwarder`);
console.log('rtt_ms  seconds  Mbit/s  expected_Mbit/s (1348 B x 8 / rtt)   (seconds: first to last datagram at the forwarder)');
for (const rtt of rtts) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const recv = run(['recv', `udp://@:${port}`, '--flow', 'ack', '--exit-on-eos', '--idle-timeout', '30']);
  await new Promise((r) => setTimeout(r, 700));
  const path = await delayPath(port, rtt / 2);
  const send = run(['send', src, '--rate', 'max', '--flow', 'ack', '--to', `udp://127.0.0.1:${path.port}`]);
  const s = await send.done;
  // From the first datagram the sender sent to the last (its start-up left out).
  const secs = Number(path.seen.last - path.seen.first) / 1e9;
  await recv.done;
  path.close();
  if (s.code !== 0) console.log(`rtt ${rtt}: send failed: ${s.err.trim()}`);
  const expected = rtt > 0 ? ((1348 * 8) / (rtt / 1000) / 1e6).toFixed(2) : '-';
  console.log(`${String(rtt).padEnd(7)} ${secs.toFixed(2).padEnd(8)} ${((bytes * 8) / secs / 1e6).toFixed(2).padEnd(7)} ${expected}`);
}
rmSync(dir, { recursive: true, force: true });
