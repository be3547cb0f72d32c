#!/usr/bin/env node
// A/B of writer settings on the Node path only, alternating the variants run by run so that
// load changes on a shared machine hit both alike; prints the median MB/s of each.
//   node scripts/bench-ab.mjs TRANSPORT CHUNK REPS SECONDS VAR=VAL[,VAR=VAL] VAR=VAL ...
// Each variant is a set of environment variables (IPCAST_WRITE_SPIN_US, IPCAST_BENCH_BATCH_BYTES)
// applied to a child process per run. Needs dist/ (npm run build:ts).
import { execFileSync } from 'node:child_process';

const [transport = 'shm', chunk = '65536', reps = '5', seconds = '1', ...variants] = process.argv.slice(2);
if (variants.length === 0) variants.push('IPCAST_WRITE_SPIN_US=0', 'IPCAST_WRITE_SPIN_US=30');
const one = `
import { applyEnvironment } from './dist/commands/environment.js';
import { runNode } from './dist/bench/node-run.js';
applyEnvironment(process.env);
const r = await runNode({ transport: '${transport}', chunkBytes: ${Number(chunk)}, mode: 'max', seconds: ${Number(seconds)}, rate: 8e6 });
if (!r.verified) { console.error(r.problem); process.exit(3); }
console.log(JSON.stringify({ mbs: r.bytesPerSecond / 1e6, p99: r.latencyP99Us }));
`;
const results = new Map(variants.map((v) => [v, []]));
for (let i = 0; i < Number(reps); i++) {
  for (const v of variants) {
    const env = { ...process.env };
    for (const kv of v.split(',')) {
      const [k, val] = kv.split('=');
      env[k] = val;
    }
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', one], { env, encoding: 'utf8' });
    results.get(v).push(JSON.parse(out).mbs);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [v, a] of results) console.log(`${transport} ${chunk} ${v.padEnd(60)} median ${median(a).toFixed(0)} MB/s  [${a.map((x) => x.toFixed(0)).join(' ')}]`);
