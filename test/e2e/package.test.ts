/**
 * The package as a user gets it: prebuilds made by `npm run prebuild`, `npm pack`, then in an
 * empty folder `npm install ./ipcast-*.tgz` with CC=false CXX=false (any compile attempt fails),
 * and `npx ipcast demo --seconds 3`, which must exit 0 with every chunk verified and leave no
 * System V object behind.
 *
 * The prebuilds are made in a staged copy of the package (the `files` of package.json and the
 * prebuild script, node_modules linked) by `scripts/prebuild.mjs --from build/Release`: the
 * script that `npm run prebuild` runs, taking this checkout's binaries (which the global setup
 * requires) instead of compiling them all again with prebuildify while the other test files
 * run; that compile is `npm run rebuild`'s. The staged copy takes dist/ from the global setup,
 * so `npm pack` runs with --ignore-scripts (its `prepare` would only run the same tsc again). The registry must be reachable for the dependencies, or
 * npm's cache must hold them (--prefer-offline). The install time is printed, not asserted:
 * the target (under 10 s) is a benchmark, and this machine is busy with the other test files.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { existingIds, listSysv } from '../../src/transport/sysvipc.js';
import { registryIds, sleep } from '../helpers/hardening.js';
import { freePort } from '../helpers/procs.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; files: string[] };
const PREBUILD_DIR = `prebuilds/${process.platform}-${process.arch}`;

/** npm's own variables (npm_config_local_prefix, npm_lifecycle_*, a build-from-source flag set by
 * CI, ...) leak from `npm test` into the npm processes this test runs; keep only where npm's
 * cache and registry are, and the Node headers to compile against. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_nodedir']);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase()))) env[k] = v;
  }
  if (env.npm_config_nodedir === undefined && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  return { ...env, ...extra };
}

let work: string;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ipcast-package-'));
  const stage = join(work, 'stage');
  mkdirSync(stage);
  for (const entry of ['package.json', 'README.md', 'scripts/prebuild.mjs', ...pkg.files.filter((f) => f !== 'prebuilds')]) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const prebuild = await execa(process.execPath, [join(stage, 'scripts', 'prebuild.mjs'), '--from', join(root, 'build', 'Release')], {
    cwd: stage,
    reject: false,
    all: true,
    timeout: 60_000,
  });
  expect(prebuild.exitCode, prebuild.all).toBe(0);
  expect(readdirSync(join(stage, PREBUILD_DIR)).sort()).toEqual(['ipcast-baseline', 'ipcast-sink', 'ipcast-udp-baseline', 'ipcast.glibc.node']);
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: stage, env: cleanEnv(), extendEnv: false, timeout: 60_000 });
  tarball = join(work, pack.stdout.trim().split('\n').at(-1)!);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships the prebuilt addon and executables, dist/ and the sources, and no build/', async () => {
    const list = (await execa('tar', ['tzf', tarball], { timeout: 10_000 })).stdout.split('\n');
    for (const f of [
      'package/package.json',
      'package/bin/ipcast.js',
      'package/dist/cli.js',
      'package/binding.gyp',
      'package/src/dashboard/index.html',
      `package/${PREBUILD_DIR}/ipcast.glibc.node`,
      `package/${PREBUILD_DIR}/ipcast-sink`,
      `package/${PREBUILD_DIR}/ipcast-baseline`,
      `package/${PREBUILD_DIR}/ipcast-udp-baseline`,
    ]) {
      expect(list).toContain(f);
    }
    expect(list.filter((f) => f.startsWith('package/build/') || f.startsWith('package/node_modules/'))).toEqual([]);
  });

  it('installs from the tarball with no compiler, and npx ipcast demo --seconds 3 verifies every chunk and leaves nothing in ipcs', async () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'ipcast-package-test', version: '1.0.0', private: true }));
    const env = cleanEnv({ CC: 'false', CXX: 'false' });
    const started = performance.now();
    const install = await execa('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
      cwd: app,
      env,
      extendEnv: false,
      reject: false,
      all: true,
      timeout: 120_000,
    });
    const seconds = (performance.now() - started) / 1000;
    expect(install.exitCode, install.all).toBe(0);
    process.stdout.write(`package test: npm install of ${pkg.name}-${pkg.version}.tgz with CC=false CXX=false took ${seconds.toFixed(1)} s\n`);
    const installed = join(app, 'node_modules', pkg.name);
    expect(install.all).toMatch(/> node-gyp-build/); // the install script ran, and found the prebuild
    expect(existsSync(join(installed, 'build')), 'node-gyp-build compiled instead of using the prebuild').toBe(false);

    // Its own registry directory: the System V ids this demo created, and nobody else's.
    const reg = join(work, 'registry');
    mkdirSync(reg);
    const port = await freePort('tcp');
    const demo = execa('npx', ['--no-install', 'ipcast', 'demo', '--seconds', '3', '--metrics', `127.0.0.1:${port}`], {
      cwd: app,
      env: { ...env, IPCAST_IPC_REGISTRY: reg },
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    let ids = registryIds(reg);
    for (let i = 0; i < 100 && ids.length < 3; i++, ids = registryIds(reg)) await sleep(100);
    const r = await demo;
    expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(ids.map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
    // The final table: every chunk handed off to each transport was verified by its sink.
    for (const t of ['pipe', 'shm', 'msg']) {
      const last = [...r.stdout.matchAll(new RegExp(`^${t}\\s+[\\d.]+ [kMGT]?B/s\\s+(\\d+)\\s+(\\d+)`, 'gm'))].at(-1);
      expect(last, r.stdout).toBeDefined();
      expect(Number(last![1])).toBeGreaterThan(50); // ~67 chunks/s of the 705.6 kbit/s tone for 3 s
      expect(Number(last![2])).toBe(Number(last![1]));
    }
    expect(r.stderr).toMatch(/lost 0;/);
    // The addon and the sink that ran are the package's prebuilds.
    const where = await execa(
      process.execPath,
      ['--input-type=module', '-e', "import { nativeAddonPath, nativeExecutable } from 'ipcast/dist/shared/native.js'; console.log(nativeAddonPath()); console.log(nativeExecutable('ipcast-sink'));"],
      { cwd: app, env, extendEnv: false, timeout: 10_000 },
    );
    expect(where.stdout.split('\n')).toEqual([join(installed, PREBUILD_DIR, 'ipcast.glibc.node'), join(installed, PREBUILD_DIR, 'ipcast-sink')]);
    // Nothing left: every id the demo created is gone, with its registry file.
    expect(existingIds(ids)).toEqual([]);
    expect(readdirSync(reg)).toEqual([]);
    const owners = new Set(ids.map((o) => o.owner));
    for (const kind of ['shm', 'sem', 'msg'] as const) {
      expect(listSysv(kind).filter((o) => owners.has(o.cpid ?? -1) || owners.has(o.lspid ?? -1))).toEqual([]);
    }
  }, 180_000);

  it('with no addon anywhere, fails in one line that lists every path tried (exit 1)', async () => {
    const bare = join(work, 'bare');
    mkdirSync(bare);
    for (const entry of ['package.json', 'bin', 'dist']) cpSync(join(root, entry), join(bare, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(bare, 'node_modules'), 'dir');
    const r = await execa(process.execPath, [join(bare, 'bin', 'ipcast.js'), 'ipcs'], { reject: false, timeout: 20_000 });
    expect(r.exitCode).toBe(1);
    const tried = ['build/Release/*.node', 'build/Debug/*.node', `${PREBUILD_DIR}/*.node`].map((p) => join(bare, p));
    expect(r.stderr).toBe(`ipcast: the native addon is not built (run npm install, or npm run rebuild in a clone); tried: ${tried.join(', ')}, ${join(process.execPath, '..', PREBUILD_DIR, '*.node')}`);
  });
});
