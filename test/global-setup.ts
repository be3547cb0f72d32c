/**
 * Builds what the integration tests run: dist/ (the CLI the tests spawn) is compiled from
 * the current sources, and the native parts must exist. Fails loudly rather than skipping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export default function setup(): void {
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
}
