/**
 * Reads /proc/sysvipc/{shm,sem,msg}: the System V objects that exist right now. Used to
 * check that ids are gone (tests, `ipcast ipcs`) without a global `ipcs` count.
 */
import { readFileSync } from 'node:fs';

export type SysvKind = 'shm' | 'sem' | 'msg';

export interface SysvObject {
  kind: SysvKind;
  id: number;
  key: number;
  perms: number;
  uid: number;
  /** The creator's uid (uid is the owner's, which IPC_SET may change). */
  cuid: number;
  ctime: number;
  /** shm: creator pid, last attach/detach pid and attach count; msg: bytes and messages queued. */
  cpid?: number;
  lpid?: number;
  nattch?: number;
  size?: number;
  cbytes?: number;
  qnum?: number;
  /** sem: semaphores in the array. */
  nsems?: number;
  /** msg: pid of the last msgsnd and of the last msgrcv (0: none yet). */
  lspid?: number;
  lrpid?: number;
}

const idColumn: Record<SysvKind, string> = { shm: 'shmid', sem: 'semid', msg: 'msqid' };

export function listSysv(kind: SysvKind, file = `/proc/sysvipc/${kind}`): SysvObject[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter((l) => l.trim());
  const head = (lines.shift() ?? '').trim().split(/\s+/);
  const col = (name: string) => head.indexOf(name);
  const out: SysvObject[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    const num = (name: string) => {
      const i = col(name);
      return i >= 0 && f[i] !== undefined ? Number(f[i]) : NaN;
    };
    const o: SysvObject = {
      kind,
      id: num(idColumn[kind]),
      key: num('key'),
      // The kernel prints the mode in octal (%4o), e.g. 600, or 1600 with SHM_DEST (marked for removal).
      perms: col('perms') >= 0 && f[col('perms')] !== undefined ? parseInt(f[col('perms')]!, 8) : NaN,
      uid: num('uid'),
      cuid: num('cuid'),
      ctime: num('ctime'),
    };
    if (kind === 'shm') {
      o.cpid = num('cpid');
      o.lpid = num('lpid');
      o.nattch = num('nattch');
      o.size = num('size');
    }
    if (kind === 'sem') o.nsems = num('nsems');
    if (kind === 'msg') {
      o.cbytes = num('cbytes');
      o.qnum = num('qnum');
      o.lspid = num('lspid');
      o.lrpid = num('lrpid');
    }
    if (Number.isFinite(o.id)) out.push(o);
  }
  return out;
}

export function sysvExists(kind: SysvKind, id: number): boolean {
  return listSysv(kind).some((o) => o.id === id);
}

/** Which of these ids still exist. */
export function existingIds(ids: { kind: SysvKind; id: number }[]): { kind: SysvKind; id: number }[] {
  const cache = new Map<SysvKind, Set<number>>();
  return ids.filter(({ kind, id }) => {
    let set = cache.get(kind);
    if (!set) cache.set(kind, (set = new Set(listSysv(kind).map((o) => o.id))));
    return set.has(id);
  });
}
