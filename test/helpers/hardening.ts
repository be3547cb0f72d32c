/**
 * Shared by the hardening tests (fuzz, faults, security, load, soak): ipcast processes with
 * their own System V registry directory (so a test knows exactly which objects its receiver
 * created), the summary line parsed, and small /proc readers.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { killAll, spawnIpcast, type Proc, type SpawnOptions } from './cli.js';
import { readRegistry } from '../../src/transport/registry.js';
import type { SysvKind } from '../../src/transport/sysvipc.js';

export type HProc = Proc;

/** spawnIpcast with the hardening tests' options (env such as IPCAST_IPC_REGISTRY, a wrapper). */
export function spawnH(args: string[], opts: SpawnOptions = {}): HProc {
  return spawnIpcast(args, opts);
}

const dirs: string[] = [];

/** Kills every ipcast process of the test and removes the temp directories it made. */
export async function killAllH(): Promise<void> {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh directory removed by killAllH (registry dirs, output files). */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** The System V objects named in a registry directory (what a receiver created). */
export function registryIds(dir: string): { kind: SysvKind; id: number; owner: number }[] {
  return readRegistry(dir).flatMap(({ entry }) => (entry ? entry.objects.map((o) => ({ kind: o.kind, id: o.id, owner: entry.ownerPid })) : []));
}

export interface Summary {
  received: number;
  bytes: number;
  lost: number;
  reordered: number;
  duplicates: number;
  reconnects: number;
  errors: Record<string, number>;
  /** verified: undefined where no sink runs (a decoder reading the pipe itself: "not measured"). */
  transports: Record<string, { chunks: number; bytes: number; dropped: number; restarts: number; verified: number | undefined }>;
}

/** Parses recv's summary line (src/receiver/run.ts summary()). */
export function parseSummary(stderr: string): Summary {
  const line = stderr.split('\n').find((l) => /received \d+ chunks/.test(l));
  if (!line) throw new Error(`no summary line in:\n${stderr}`);
  const num = (re: RegExp): number => Number(re.exec(line)?.[1] ?? NaN);
  const errText = /decode errors ([^;]*)/.exec(line)?.[1] ?? '';
  const errors: Record<string, number> = {};
  for (const m of errText.matchAll(/([a-z_]+)=(\d+)/g)) errors[m[1]!] = Number(m[2]);
  const transports: Summary['transports'] = {};
  const re = /(pipe|shm|msg): handed off (\d+) chunks \((\d+) bytes\), dropped (\d+), restarts (\d+), sink verified (?:(\d+) chunks|and hand-off latency not measured)/g;
  for (const m of line.matchAll(re)) {
    const verified = m[6] === undefined ? undefined : Number(m[6]);
    transports[m[1]!] = { chunks: Number(m[2]), bytes: Number(m[3]), dropped: Number(m[4]), restarts: Number(m[5]), verified };
  }
  return {
    received: num(/received (\d+) chunks/),
    bytes: num(/chunks \((\d+) bytes\)/),
    lost: num(/lost (\d+)/),
    reordered: num(/reordered (\d+)/),
    duplicates: num(/duplicates (\d+)/),
    reconnects: num(/reconnects (\d+)/),
    errors,
    transports,
  };
}

/** Children of a process (all threads), from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
