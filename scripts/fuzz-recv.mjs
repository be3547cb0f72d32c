#!/usr/bin/env node
// The long fuzz run: the suite's fuzz-through-recv and sink-IPC fuzz tests
// (test/e2e/hardening-fuzz-recv.test.ts, test/native/sink-ipc.test.ts) again and again with a
// new seed each round, until --minutes is up or --rounds are done. Prints one line per round
// and the seeds that failed; reproduce one with IPCAST_FUZZ_SEED=N npx vitest run <file>.
//
//   node scripts/fuzz-recv.mjs [--minutes 30] [--rounds N] [--seed FIRST]
//   node scripts/fuzz-recv.mjs --datagrams 1000000 --tcp-frames 100000 [--seed S]
//       one round of the two end-to-end cases at that scale: N bad datagrams through the real
//       recv beside a real stream, and a TCP byte stream of N good frames with bad input
//       between them (~1 MB of file per 1 666 frames); counts compared with the test's own
//       oracle. Prints the test's count lines.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opts = { minutes: 30, rounds: Infinity, seed: (Date.now() & 0x7fffffff) >>> 0, datagrams: 0, 'tcp-frames': 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i]?.replace(/^--/, '');
  const v = Number(process.argv[i + 1]);
  if (!(k in opts) || !Number.isFinite(v) || v < 0) {
    console.error(`fuzz-recv: bad option ${process.argv[i]} ${process.argv[i + 1] ?? ''}\nusage: node scripts/fuzz-recv.mjs [--minutes M] [--rounds N] [--seed S] [--datagrams N] [--tcp-frames N]`);
    process.exit(2);
  }
  opts[k] = v;
}
const scaled = opts.datagrams > 0 || opts['tcp-frames'] > 0;
const files = scaled ? ['test/e2e/hardening-fuzz-recv.test.ts'] : ['test/e2e/hardening-fuzz-recv.test.ts', 'test/native/sink-ipc.test.ts'];
if (scaled) opts.rounds = 1;
const scaleEnv = scaled
  ? { IPCAST_FUZZ_DATAGRAMS: String(opts.datagrams || 4800), IPCAST_FUZZ_TCP_FRAMES: String(opts['tcp-frames'] || 2000) }
  : {};
const end = Date.now() + opts.minutes * 60_000;
const failed = [];
let round = 0;
for (; round < opts.rounds && Date.now() < end; round++) {
  const seed = (opts.seed + round * 0x9e3779b1) >>> 0;
  const t = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files], {
    cwd: root,
    env: { ...process.env, IPCAST_FUZZ_SEED: String(seed), ...scaleEnv },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: scaled ? 7_200_000 : 300_000,
  });
  const ok = r.status === 0;
  if (!ok) failed.push(seed);
  console.log(`round ${round + 1}: seed ${seed}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  if (!ok) console.log((r.stdout + r.stderr).split('\n').filter((l) => /FAIL|Error|expected|seed/.test(l)).slice(0, 20).join('\n'));
  if (ok && scaled) console.log((r.stdout + r.stderr).split('\n').filter((l) => /fuzz (seed|:)|Tests /.test(l)).join('\n'));
}
console.log(`fuzz-recv: ${round} rounds, ${failed.length} failed${failed.length ? `: seeds ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
