#!/usr/bin/env node
// The long fuzz run: the suite's fuzz-through-recv and sink-IPC fuzz tests
// (test/hardening-fuzz-recv.test.ts, test/hardening-sink-ipc.test.ts) again and again with a
// new seed each round, until --minutes is up or --rounds are done. Prints one line per round
// and the seeds that failed; reproduce one with IPCAST_FUZZ_SEED=N npx vitest run <file>.
//
//   node scripts/fuzz-recv.mjs [--minutes 30] [--rounds N] [--seed FIRST]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opts = { minutes: 30, rounds: Infinity, seed: (Date.now() & 0x7fffffff) >>> 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i]?.replace(/^--/, '');
  const v = Number(process.argv[i + 1]);
  if (!(k in opts) || !Number.isFinite(v) || v < 0) {
    console.error(`fuzz-recv: bad option ${process.argv[i]} ${process.argv[i + 1] ?? ''}\nusage: node scripts/fuzz-recv.mjs [--minutes M] [--rounds N] [--seed S]`);
    process.exit(2);
  }
  opts[k] = v;
}
const files = ['test/hardening-fuzz-recv.test.ts', 'test/hardening-sink-ipc.test.ts'];
const end = Date.now() + opts.minutes * 60_000;
const failed = [];
let round = 0;
for (; round < opts.rounds && Date.now() < end; round++) {
  const seed = (opts.seed + round * 0x9e3779b1) >>> 0;
  const t = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files], {
    cwd: root,
    env: { ...process.env, IPCAST_FUZZ_SEED: String(seed) },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const ok = r.status === 0;
  if (!ok) failed.push(seed);
  console.log(`round ${round + 1}: seed ${seed}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  if (!ok) console.log((r.stdout + r.stderr).split('\n').filter((l) => /FAIL|Error|expected|seed/.test(l)).slice(0, 20).join('\n'));
}
console.log(`fuzz-recv: ${round} rounds, ${failed.length} failed${failed.length ? `: seeds ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
