#!/usr/bin/env node
// Makes the prebuilt binaries that the npm package ships: prebuilds/<platform>-<arch>/ holds
// the addon as node-gyp-build names it (ipcast.glibc.node: one Node-API build, tagged with the
// C library it links, for every Node version with Node-API 8) and every executable target of
// binding.gyp beside it (ipcast-sink, ipcast-baseline, ipcast-udp-baseline), which
// src/shared/native.ts looks up next to the addon it loads.
//
// Run it as `npm run prebuild`: prebuildify --napi compiles with node-gyp rebuild (npm puts its
// own node-gyp on PATH for scripts; set npm_config_nodedir=/usr to build against the installed
// Node headers instead of downloading them), so build/ is rebuilt too. It builds for this
// machine only (linux-x64 on the CI machine); prebuilds/ is gitignored and goes into the
// package through package.json `files`.
//
// `node scripts/prebuild.mjs --from DIR` compiles nothing: it takes the addon and the executables
// from DIR (a build/Release made by `npm run rebuild`), named as prebuildify names them
// (<name>.<libc>.node). test/e2e/package.test.ts uses it, so that the test does not compile the whole
// native tree a second time while the other test files run.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function fail(message) {
  process.stderr.write(`prebuild: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const from = args[0] === '--from' && args.length === 2 ? resolve(args[1]) : undefined;
if (args.length > 0 && from === undefined) fail(`usage: prebuild.mjs [--from BUILD_DIR], got ${args.join(' ')}`);
if (process.platform !== 'linux') fail(`ipcast builds on Linux only, this is ${process.platform}`);

const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'));
// node-gyp's addon.gypi makes a target without a type a loadable module: the addon.
const addonTarget = gyp.targets.find((t) => (t.type ?? 'loadable_module') === 'loadable_module').target_name;
const executables = gyp.targets.filter((t) => t.type === 'executable').map((t) => t.target_name);
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);

// A fresh folder: a binary left from an older build must not ship beside the new ones.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const pkgName = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name;
const release = from ?? join(root, 'build', 'Release');
if (from === undefined) {
  // One Node-API target (this Node): without -t, prebuildify --napi also builds for Electron,
  // which downloads Electron's headers.
  const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
  try {
    execFileSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc', '-t', process.versions.node], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (err) {
    fail(`prebuildify failed (${err.message.split('\n')[0]}); run it as npm run prebuild, with npm_config_nodedir=/usr`);
  }
} else {
  // prebuildify's name for a --napi --tag-libc build: the package name and the C library
  // (node-gyp-build prefers a tagged build for this libc, and never takes a musl one on glibc).
  const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const addonFile = join(from, `${addonTarget}.node`);
  if (!existsSync(addonFile)) fail(`${addonFile} is missing: run npm run rebuild first`);
  const to = join(out, `${pkgName}.${libc}.node`);
  copyFileSync(addonFile, to);
  execFileSync('strip', [to]);
}

for (const name of executables) {
  const from = join(release, name);
  if (!existsSync(from)) fail(`${from} was not built`);
  const to = join(out, name);
  copyFileSync(from, to);
  chmodSync(to, 0o755);
  execFileSync('strip', [to]);
}

const made = readdirSync(out).sort();
const addon = made.find((f) => f.endsWith('.node'));
if (addon === undefined) fail(`no addon in ${out}`);
// prebuildify moved build/Release/ipcast.node away; put it back, so a clone's build/ stays whole
// (node-gyp-build, the tests and scripts/relay-bench.sh use build/Release first).
if (from === undefined) copyFileSync(join(out, addon), join(release, `${addonTarget}.node`));
process.stdout.write(`prebuild: ${out}: ${made.join(', ')}\n`);
