/**
 * The record of ids: every shm/sem/msg transport writes a small JSON file
 * /tmp/ipcast-ipc-<uid>/<pid>-<kind>-<id>.json (0600, in a 0700 directory) naming the
 * System V objects it created, their ctime and the owner pid. `ipcast ipcs` reads these
 * (plus the ring magic of shm segments) to find leftovers; the file is removed when the
 * transport closes, or by the sink when the owner dies.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getuid, pid } from 'node:process';

import { settings } from '../shared/settings.js';
import { listSysv, type SysvKind } from './sysvipc.js';

export interface RegistryEntry {
  ownerPid: number;
  transport: 'shm' | 'msg';
  createdUnixMs: number;
  objects: { kind: SysvKind; id: number; ctime: number }[];
}

export function registryDir(): string {
  return settings().registryDir ?? join(tmpdir(), `ipcast-ipc-${getuid?.() ?? 0}`);
}

/** ctime of one object as /proc/sysvipc shows it (NaN if gone): together with the id it
 *  tells our object from a later one that got the same id. */
export function ctimeOf(kind: SysvKind, id: number): number {
  return listSysv(kind).find((o) => o.id === id)?.ctime ?? NaN;
}

export function writeRegistry(transport: 'shm' | 'msg', objects: { kind: SysvKind; id: number }[]): string {
  const dir = registryDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const entry: RegistryEntry = {
    ownerPid: pid,
    transport,
    createdUnixMs: Date.now(),
    objects: objects.map((o) => ({ ...o, ctime: ctimeOf(o.kind, o.id) })),
  };
  const file = join(dir, `${pid}-${transport}-${objects[0]?.id ?? 0}.json`);
  writeFileSync(file, JSON.stringify(entry) + '\n', { mode: 0o600 });
  return file;
}

export function removeRegistry(file: string | undefined): void {
  if (!file) return;
  try {
    unlinkSync(file);
  } catch {
    /* already gone (the sink removes it when the owner died) */
  }
}

export function readRegistry(dir = registryDir()): { file: string; entry: RegistryEntry | undefined }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => {
      const file = join(dir, n);
      try {
        const e = JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry;
        if (typeof e.ownerPid !== 'number' || !Array.isArray(e.objects)) return { file, entry: undefined };
        return { file, entry: e };
      } catch {
        return { file, entry: undefined };
      }
    });
}

/** Is there a process with this pid (a zombie counts, as for kill(pid, 0))? */
export function processAlive(pid: number): boolean {
  return pid > 0 && Number.isInteger(pid) && existsSync(`/proc/${pid}`);
}
