#!/usr/bin/env node
// HTTP fan-out on loopback (issue 14; a script, not in npm test): one `ipcast send FILE
// --http PORT --wait-clients N` serves N HTTP clients of /channel/1 at a rate; each client
// checks every byte (sha256 of the body against the file's) and that the response ended.
// Prints wall time against the stream's duration, the sender's CPU and peak RSS, and how many
// clients were byte-exact.
//
//   node scripts/http-fanout.mjs --clients 200 --rate 2M --seconds 10 [--http10]
//
// --http10: the clients ask HTTP/1.0 (close-delimited body); default HTTP/1.1 (chunked, undone
// here). Bounded: the run is killed after 3 x the stream's duration + 30 s.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const BIN = join(ROOT, 'bin/ipcast.js');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const clients = Number(opt('clients', '200'));
const rateText = opt('rate', '2M');
const seconds = Number(opt('seconds', '10'));
const http10 = args.includes('--http10');
const rate = Number(rateText.replace(/[kKmM]$/, '')) * ({ k: 1e3, m: 1e6 }[rateText.slice(-1).toLowerCase()] ?? 1);
const bytes = Math.floor((rate / 8) * seconds / 1316) * 1316;

const dir = mkdtempSync(join(tmpdir(), 'ipcast-http-fanout-'));
const file = join(dir, 'stream.bin');
const data = randomBytes(bytes);
writeFileSync(file, data);
const want = createHash('sha256').update(data).digest('hex');

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const send = spawn(process.execPath, [BIN, 'send', file, '--rate', rateText, '--to', 'udp://127.0.0.1:9', '--http', String(port), '--wait-clients', String(clients)], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
send.stderr.on('data', (d) => (stderr += d));
const killer = setTimeout(() => {
  console.error('http-fanout: timed out');
  send.kill('SIGKILL');
  process.exit(1);
}, (3 * seconds + 30) * 1000);
while (!/http http:/.test(stderr)) {
  if (send.exitCode !== null) throw new Error(`send exited: ${stderr}`);
  await new Promise((r) => setTimeout(r, 50));
}

/** The body of a chunked response, undone. */
function unchunk(buf) {
  const parts = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    const size = parseInt(buf.toString('latin1', off, eol), 16);
    if (!(size > 0)) return { body: Buffer.concat(parts), ended: size === 0 };
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    off = eol + 2 + size + 2;
  }
}

function client() {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const parts = [];
    sock.on('data', (d) => parts.push(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      const all = Buffer.concat(parts);
      const head = all.indexOf('\r\n\r\n');
      let body = all.subarray(head + 4);
      let ended = true;
      if (!http10) ({ body, ended } = unchunk(body));
      resolve(ended && createHash('sha256').update(body).digest('hex') === want);
    });
    sock.write(`GET /channel/1 HTTP/1.${http10 ? 0 : 1}\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

let peakRss = 0;
const rssTimer = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${send.pid}/status`, 'utf8');
    peakRss = Math.max(peakRss, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
  } catch {}
}, 200);
const cpuOf = () => {
  try {
    const f = readFileSync(`/proc/${send.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return NaN;
  }
};
const started = performance.now();
const results = await Promise.all(Array.from({ length: clients }, client));
const wall = (performance.now() - started) / 1000;
const cpu = cpuOf();
await new Promise((r) => send.once('exit', r));
clearInterval(rssTimer);
clearTimeout(killer);
rmSync(dir, { recursive: true, force: true });
const exact = results.filter(Boolean).length;
console.log(
  `http-fanout: ${clients} clients x ${rateText}bit/s (HTTP/1.${http10 ? 0 : 1}), ${bytes} bytes each: ${exact}/${clients} byte-exact and ended; ` +
    `wall ${wall.toFixed(2)} s for a ${seconds} s stream; sender cpu ${Number.isFinite(cpu) ? `${cpu.toFixed(2)} s` : 'n/a'}, peak RSS ${(peakRss / 1048576).toFixed(0)} MiB; ` +
    `egress ${((bytes * exact * 8) / wall / 1e6).toFixed(0)} Mbit/s; send exit ${send.exitCode}`,
);
process.exit(exact === clients && send.exitCode === 0 ? 0 : 1);
