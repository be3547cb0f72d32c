#!/usr/bin/env node
// npm's `prepare`: compiles dist/ (tsc -p tsconfig.build.json) unless it is already current.
//
// npm runs `prepare` on `npm install` / `npm ci` in a clone, on `npm pack` / `npm publish`, and
// also the first time `npx ipcast` runs in a clone (npm installs the clone into its npx cache as
// a link and runs its scripts). A full tsc takes seconds, and would rewrite dist/ under an
// ipcast that is running from it; so when dist/cli.js is newer than every TypeScript source
// and tsconfig, there is nothing to do. `npm run build:ts` always compiles.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(join(root, 'dist', 'cli.js')).mtimeMs;
  } catch {
    return -1;
  }
}

const inputs = Math.max(newestSource(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(root, f)).mtimeMs));
if (builtAt() > inputs) process.exit(0);
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  process.stderr.write('prepare: tsc -p tsconfig.build.json failed\n');
  process.exit(1);
}
