#!/usr/bin/env node
// Soak: ipcast send -> ipcast recv (pipe, shm and msg side by side, ipcast-sink verifying)
// on 127.0.0.1 for a given time. Every --interval seconds it samples the receiver's RSS and
// open fds, its children's RSS, the sender's RSS, the System V objects the receiver created
// (by the ids in its own registry directory) and loss (recv's /metrics on 127.0.0.1), prints
// a table, and at the end fails (exit 1) on growth, loss or leftovers.
//
//   node scripts/soak.mjs [--duration 60] [--interval 5] [--warmup 15] [--rate 2M]
//                         [--transports pipe,shm,msg] [--rss-slack-mb 8] [--fd-slack 0]
//                         [--json]          also print the result as one JSON line (tests)
//
// For hours: node scripts/soak.mjs --duration 14400 --interval 60 --warmup 300
// Needs dist/ (the test setup or `npm run build:ts`) and build/Release (npm install).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'ipcast.js');

const opts = { duration: 60, interval: 5, warmup: 15, rate: '2M', transports: 'pipe,shm,msg', 'rss-slack-mb': 8, 'fd-slack': 0, json: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--') || !(a.slice(2) in opts)) {
    console.error(`soak: unknown option ${a}\nusage: node scripts/soak.mjs [--duration S] [--interval S] [--warmup S] [--rate R] [--transports T] [--rss-slack-mb N] [--fd-slack N] [--json]`);
    process.exit(2);
  }
  const k = a.slice(2);
  if (k === 'json') opts.json = true;
  else opts[k] = typeof opts[k] === 'number' ? Number(process.argv[++i]) : process.argv[++i];
}
for (const k of ['duration', 'interval', 'warmup', 'rss-slack-mb', 'fd-slack']) {
  if (!(opts[k] >= 0)) {
    console.error(`soak: --${k} must be a non-negative number, got '${opts[k]}'`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function freePort(kind) {
  if (kind === 'tcp') {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    const p = s.address().port;
    await new Promise((r) => s.close(r));
    return p;
  }
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}
const readOr = (f, d = '') => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return d;
  }
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readOr(`/proc/${pid}/status`))?.[1] ?? 0);
const fds = (pid) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};
function children(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) out.push(...readOr(`/proc/${pid}/task/${t}/children`).trim().split(/\s+/).filter(Boolean).map(Number));
  return out;
}
const descendants = (pid) => children(pid).flatMap((c) => [c, ...descendants(c)]);
function registryIds(dir) {
  const out = [];
  for (const n of readdirSync(dir)) {
    try {
      for (const o of JSON.parse(readOr(join(dir, n), '{}')).objects ?? []) out.push(o);
    } catch {
      /* being written */
    }
  }
  return out;
}
function sysvAlive(objs) {
  const live = {};
  for (const k of ['shm', 'sem', 'msg']) {
    const rows = readOr(`/proc/sysvipc/${k}`).split('\n').slice(1);
    live[k] = new Set(rows.map((l) => l.trim().split(/\s+/)[1]).filter(Boolean).map(Number));
  }
  return objs.filter((o) => live[o.kind]?.has(o.id));
}
function metric(text, name) {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

const reg = mkdtempSync(join(tmpdir(), 'ipcast-soak-'));
const port = await freePort('udp');
const mport = await freePort('tcp');
const env = { ...process.env, IPCAST_IPC_REGISTRY: reg };
let recvErr = '';
const recv = spawn(process.execPath, [bin, 'recv', `udp://@127.0.0.1:${port}`, '--transport', opts.transports, '--metrics', `127.0.0.1:${mport}`], {
  env,
  stdio: ['ignore', 'ignore', 'pipe'],
});
recv.stderr.on('data', (d) => (recvErr += d));
const until = Date.now() + 15_000;
while (!/listening on/.test(recvErr) && Date.now() < until && recv.exitCode === null) await sleep(20);
if (!/listening on/.test(recvErr)) {
  console.error(`soak: recv did not start:\n${recvErr}`);
  recv.kill('SIGKILL');
  process.exit(1);
}
const send = spawn(process.execPath, [bin, 'send', 'tone', '--rate', opts.rate, '--to', `udp://127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });

const samples = [];
const cols = ['t_s', 'recv_rss_mb', 'recv_fds', 'children_rss_mb', 'send_rss_mb', 'sysv', 'received', 'lost', 'kernel_drops', 'dropped', 'sink_chunks'];
console.log(cols.map((c) => c.padStart(c.length < 9 ? 9 : c.length)).join(' '));
const t0 = Date.now();
let stopping = false;
process.once('SIGINT', () => (stopping = true));
for (let next = t0; !stopping; ) {
  next += opts.interval * 1000;
  const wait = next - Date.now();
  if (wait > 0) await sleep(wait);
  if (recv.exitCode !== null || send.exitCode !== null) break;
  let text = '';
  try {
    text = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
  } catch {
    /* metrics not answering: counted as NaN */
  }
  const kids = descendants(recv.pid);
  const s = {
    t_s: Math.round((Date.now() - t0) / 1000),
    recv_rss_mb: rssKiB(recv.pid) / 1024,
    recv_fds: fds(recv.pid),
    children_rss_mb: kids.reduce((a, p) => a + rssKiB(p), 0) / 1024,
    send_rss_mb: rssKiB(send.pid) / 1024,
    sysv: sysvAlive(registryIds(reg)).length,
    received: text ? metric(text, 'ipcast_receiver_received_chunks_total') : NaN,
    lost: text ? metric(text, 'ipcast_receiver_lost_chunks_total') : NaN,
    kernel_drops: Number(/drops (\d+)/.exec('')?.[1] ?? NaN),
    dropped: text ? metric(text, 'ipcast_transport_dropped_chunks_total') : NaN,
    sink_chunks: text ? metric(text, 'ipcast_transport_sink_chunks_total') : NaN,
  };
  // The kernel's drop counter for recv's socket (/proc/net/udp, last column).
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const line = readOr('/proc/net/udp').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(`:${hex}`));
  s.kernel_drops = line ? Number(line[12]) : NaN;
  samples.push(s);
  console.log(cols.map((c) => (typeof s[c] === 'number' && !Number.isInteger(s[c]) ? s[c].toFixed(1) : String(s[c])).padStart(c.length < 9 ? 9 : c.length)).join(' '));
  if (Date.now() - t0 >= opts.duration * 1000) break;
}

// Stop the receiver first (its summary), then the sender; then nothing may be left.
const ids = registryIds(reg);
recv.kill('SIGTERM');
await new Promise((r) => (recv.exitCode !== null ? r() : recv.once('exit', r)));
send.kill('SIGTERM');
await new Promise((r) => (send.exitCode !== null ? r() : send.once('exit', r)));
await sleep(500);
const leftovers = sysvAlive(ids);
const leftoverFiles = readdirSync(reg);
rmSync(reg, { recursive: true, force: true });
const summary = recvErr.split('\n').find((l) => /received \d+ chunks/.test(l)) ?? '';

const after = samples.filter((s) => s.t_s >= opts.warmup);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const head = after.slice(0, 3);
const tail = after.slice(-3);
const result = {
  samples: samples.length,
  rssGrowthMb: median(tail.map((s) => s.recv_rss_mb)) - median(head.map((s) => s.recv_rss_mb)),
  childrenRssGrowthMb: median(tail.map((s) => s.children_rss_mb)) - median(head.map((s) => s.children_rss_mb)),
  sendRssGrowthMb: median(tail.map((s) => s.send_rss_mb)) - median(head.map((s) => s.send_rss_mb)),
  rssMb: { min: Math.min(...after.map((s) => s.recv_rss_mb)), max: Math.max(...after.map((s) => s.recv_rss_mb)) },
  fdGrowth: Math.max(...after.map((s) => s.recv_fds)) - Math.min(...after.map((s) => s.recv_fds)),
  sysvCounts: [...new Set(samples.map((s) => s.sysv))],
  lost: Number(/lost (\d+)/.exec(summary)?.[1] ?? NaN),
  dropped: [...summary.matchAll(/dropped (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0),
  received: Number(/received (\d+) chunks/.exec(summary)?.[1] ?? NaN),
  leftovers,
  leftoverFiles,
  recvExit: recv.exitCode,
  summary,
};
const failures = [];
if (after.length < 2) failures.push(`only ${after.length} samples after the warm-up: run longer`);
if (!(result.rssGrowthMb <= opts['rss-slack-mb'])) failures.push(`recv RSS grew ${result.rssGrowthMb.toFixed(1)} MB (> ${opts['rss-slack-mb']})`);
if (!(result.childrenRssGrowthMb <= opts['rss-slack-mb'])) failures.push(`children RSS grew ${result.childrenRssGrowthMb.toFixed(1)} MB`);
if (!(result.sendRssGrowthMb <= opts['rss-slack-mb'])) failures.push(`send RSS grew ${result.sendRssGrowthMb.toFixed(1)} MB`);
if (!(result.fdGrowth <= opts['fd-slack'])) failures.push(`recv fds varied by ${result.fdGrowth}`);
if (result.sysvCounts.length !== 1) failures.push(`System V object count changed: ${result.sysvCounts.join(', ')}`);
if (result.lost !== 0) failures.push(`lost ${result.lost}`);
if (result.dropped !== 0) failures.push(`dropped ${result.dropped}`);
if (!(result.received > 0)) failures.push('nothing received');
if (leftovers.length || leftoverFiles.length) failures.push(`left behind: ${JSON.stringify(leftovers)} ${leftoverFiles.join(' ')}`);
if (result.recvExit !== 0) failures.push(`recv exited ${result.recvExit}`);
console.log(`recv: ${summary.replace(/^ipcast recv: /, '')}`);
console.log(
  `soak: ${samples.length} samples; recv RSS ${result.rssMb.min.toFixed(1)}..${result.rssMb.max.toFixed(1)} MB, growth ${result.rssGrowthMb.toFixed(1)} MB after warm-up; ` +
    `children growth ${result.childrenRssGrowthMb.toFixed(1)} MB; send growth ${result.sendRssGrowthMb.toFixed(1)} MB; fds ±${result.fdGrowth}; System V objects ${result.sysvCounts.join('/')}; lost ${result.lost}: ` +
    (failures.length ? `FAIL: ${failures.join('; ')}` : 'ok'),
);
if (opts.json) console.log(JSON.stringify({ ...result, failures }));
process.exit(failures.length ? 1 : 0);
