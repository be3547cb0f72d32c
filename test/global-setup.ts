/**
 * Builds what the integration tests run: dist/ (the CLI the tests spawn) is compiled from
 * the current sources, and the native parts must exist. Fails loudly rather than skipping.
 * After the whole run, checks that no System V object created during it is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { listSysv, type SysvKind } from '../src/transport/sysvipc.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const KINDS: SysvKind[] = ['shm', 'sem', 'msg'];

function liveIds(): Set<string> {
  return new Set(KINDS.flatMap((k) => listSysv(k).map((o) => `${k}:${o.id}`)));
}

export default function setup(): () => void {
  // tsc emits even when a file has type errors; `npm test` typechecks separately first, so a
  // half-edited file elsewhere does not stop other tests from running during development.
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
      stdio: 'pipe',
    });
  } catch (err) {
    process.stderr.write(`global-setup: tsc reported type errors (dist/ emitted anyway):\n${String((err as { stdout?: Buffer }).stdout ?? '')}\n`);
  }
  for (const f of ['build/Release/ipcast.node', 'build/Release/ipcast-sink']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm install (node-gyp rebuild) first`);
  }
  const before = liveIds();
  return () => {
    // In CI nothing else creates System V objects, so anything new is ours: a leak.
    if (process.env.CI !== 'true') return;
    const leaked = [...liveIds()].filter((id) => !before.has(id));
    if (leaked.length > 0) {
      for (const id of leaked) {
        const [kind, num] = id.split(':');
        try {
          execFileSync('ipcrm', [kind === 'shm' ? '-m' : kind === 'sem' ? '-s' : '-q', num!]);
        } catch {
          /* already gone */
        }
      }
      throw new Error(`System V objects left after the test run (now removed): ${leaked.join(', ')}`);
    }
  };
}
