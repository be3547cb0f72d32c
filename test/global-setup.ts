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
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  for (const f of ['build/Release/ipcast.node', 'build/Release/ipcast-sink']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm install (node-gyp rebuild) first`);
  }
}
