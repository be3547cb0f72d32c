/**
 * Finding and removing System V objects that ipcast runs left behind (`ipcast ipcs`).
 * Ours are: the objects named in registry files (src/transport/registry.ts), matched by id
 * and ctime so that a later object reusing the id is never taken for ours; and shm
 * segments whose header carries the ring magic "CASTRING" (plus the semaphore array the
 * header names). An object is removable when its owner process is gone.
 */
import { getuid } from 'node:process';

import { loadNative } from '../shared/native.js';
import { processAlive, readRegistry, removeRegistry } from './registry.js';
import { listSysv, type SysvKind, type SysvObject } from './sysvipc.js';

export interface Leftover {
  kind: SysvKind;
  id: number;
  ownerPid: number;
  ownerAlive: boolean;
  /** How we know it is ours: a registry file, the ring magic, or the ring header's sem id. */
  source: 'registry' | 'ring-magic' | 'ring-header';
  detail: string;
}

export interface LeftoverScan {
  objects: Leftover[];
  /** Registry files whose owner is gone or whose objects no longer exist. */
  staleRegistryFiles: string[];
}

export function scanLeftovers(): LeftoverScan {
  const native = loadNative();
  const uid = getuid?.() ?? -1;
  const live: Record<SysvKind, Map<number, SysvObject>> = {
    shm: new Map(listSysv('shm').map((o) => [o.id, o])),
    sem: new Map(listSysv('sem').map((o) => [o.id, o])),
    msg: new Map(listSysv('msg').map((o) => [o.id, o])),
  };
  const found = new Map<string, Leftover>();
  const add = (l: Leftover) => {
    const k = `${l.kind}:${l.id}`;
    if (!found.has(k)) found.set(k, l);
  };
  const stale: string[] = [];

  for (const { file, entry } of readRegistry()) {
    if (!entry) {
      stale.push(file);
      continue;
    }
    const alive = processAlive(entry.ownerPid);
    let any = false;
    for (const o of entry.objects) {
      const cur = live[o.kind]?.get(o.id);
      if (!cur || (Number.isFinite(o.ctime) && cur.ctime !== o.ctime)) continue;
      any = true;
      add({ kind: o.kind, id: o.id, ownerPid: entry.ownerPid, ownerAlive: alive, source: 'registry', detail: `${entry.transport} transport, ${describe(cur)}` });
    }
    if (!any || !alive) stale.push(file);
  }

  for (const seg of live.shm.values()) {
    if (uid >= 0 && seg.uid !== uid) continue;
    const h = native.ipcShmPeek(seg.id);
    if (!h.ok) continue;
    const owner = h.creatorPid ?? 0;
    const alive = processAlive(owner);
    add({ kind: 'shm', id: seg.id, ownerPid: owner, ownerAlive: alive, source: 'ring-magic', detail: `ring ${h.slots} x ${h.slotBytes} B, ${describe(seg)}` });
    const sem = h.semId !== undefined ? live.sem.get(h.semId) : undefined;
    if (sem && sem.uid === seg.uid) add({ kind: 'sem', id: sem.id, ownerPid: owner, ownerAlive: alive, source: 'ring-header', detail: `guards shm ${seg.id}` });
  }
  const objects = [...found.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.id - b.id);
  return { objects, staleRegistryFiles: stale };
}

function describe(o: SysvObject): string {
  if (o.kind === 'shm') return `${o.size} bytes, ${o.nattch} attached${(o.perms & 0o1000) !== 0 ? ', marked for removal' : ''}`;
  if (o.kind === 'msg') return `${o.qnum} messages, ${o.cbytes} bytes queued`;
  return `ctime ${o.ctime}`;
}

export interface CleanResult {
  removed: Leftover[];
  failed: { leftover: Leftover; errno: number }[];
  kept: Leftover[];
  registryFilesRemoved: number;
}

/** Removes the objects whose owner is gone, and the stale registry files. */
export function cleanLeftovers(scan = scanLeftovers()): CleanResult {
  const native = loadNative();
  const res: CleanResult = { removed: [], failed: [], kept: [], registryFilesRemoved: 0 };
  for (const l of scan.objects) {
    if (l.ownerAlive) {
      res.kept.push(l);
      continue;
    }
    const r = native.ipcRemove(l.kind, l.id);
    if (r === 0) res.removed.push(l);
    else res.failed.push({ leftover: l, errno: -r });
  }
  for (const f of scan.staleRegistryFiles) {
    removeRegistry(f);
    res.registryFilesRemoved++;
  }
  return res;
}
