/**
 * Why a System V transport could not be created, in words a user can act on: which kernel
 * limit ran out and the sysctl that raises it.
 *
 *   errno   call     limit                                    sysctl
 *   ENOSPC  semget   SEMMNI (arrays) or SEMMNS (semaphores)   kernel.sem, 4th / 2nd field
 *   EINVAL  semget   SEMMSL (semaphores per array, need 3)    kernel.sem, 1st field
 *   ENOSPC  shmget   SHMMNI (segments) or SHMALL (pages)      kernel.shmmni / kernel.shmall
 *   EINVAL  shmget   SHMMAX (bytes per segment) below the ring kernel.shmmax
 *   ENOSPC  msgget   MSGMNI (queues)                          kernel.msgmni
 *   ENOMEM  any      kernel memory for the object itself      (none: free memory)
 *
 * The shm transport makes a semaphore array and then a segment, and the engine reports the
 * pair as one call ("shmget/semget(2)"), so which limit ran out is told from the limits and
 * from what exists now (/proc/sysvipc), in the order the engine meets them. The limits are
 * per IPC namespace (/proc/sys/kernel/* shows the caller's).
 */
import { readFileSync } from 'node:fs';

import { listSysv } from './sysvipc.js';

/** native/engine/shm_ring.h: the ring header, the per-slot header, the defaults, the array size. */
const RING_HEADER_BYTES = 4096;
const RING_SLOT_HEADER = 16;
export const RING_DEFAULT_SLOTS = 64;
export const RING_DEFAULT_SLOT_BYTES = 64 * 1024;
const RING_SEMAPHORES = 3;
/** SHMALL counts pages; Linux's System V code uses PAGE_SIZE, 4096 on the machines ipcast targets. */
const PAGE_BYTES = 4096;

/** Bytes of the segment the engine asks shmget for (ipcast_ring_create). */
export function ringBytes(slots = RING_DEFAULT_SLOTS, slotBytes = RING_DEFAULT_SLOT_BYTES): number {
  const stride = Math.ceil((RING_SLOT_HEADER + slotBytes) / 64) * 64;
  return RING_HEADER_BYTES + slots * stride;
}

function sysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/kernel/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sysctlNumber(name: string): number {
  const v = sysctl(name);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN;
}

interface ErrnoLike {
  code?: unknown;
}

/**
 * One line naming the limit and the sysctl to raise, or undefined when the error is not a
 * limit (the caller keeps the engine's own message).
 */
export function explainLimit(kind: 'shm' | 'msg', err: unknown, geometry: { slots?: number; slotBytes?: number } = {}): string | undefined {
  const code = typeof (err as ErrnoLike)?.code === 'string' ? ((err as ErrnoLike).code as string) : '';
  if (kind === 'msg') {
    if (code === 'ENOSPC') {
      const max = sysctlNumber('msgmni');
      return `the system's message queues are all taken: MSGMNI is ${max}, ${listSysv('msg').length} exist (msgget: ENOSPC); raise sysctl kernel.msgmni`;
    }
    if (code === 'ENOMEM') return 'the kernel has no memory left for a message queue (msgget: ENOMEM); free some memory';
    return undefined;
  }

  const bytes = ringBytes(geometry.slots, geometry.slotBytes);
  const semLine = sysctl('sem') ?? '';
  const [semmsl, semmns, , semmni] = semLine.split(/\s+/).map(Number) as [number, number, number, number];
  const semField = (n: string, field: string) => `raise ${n}, the ${field} field of sysctl kernel.sem (now '${semLine.replace(/\s+/g, ' ')}')`;
  const sems = listSysv('sem');
  const segments = listSysv('shm');

  if (code === 'ENOSPC') {
    if (sems.length >= semmni) {
      return `the system's semaphore arrays are all taken: SEMMNI is ${semmni}, ${sems.length} exist (semget: ENOSPC); ${semField('SEMMNI', '4th')}`;
    }
    const used = sems.reduce((n, s) => n + (s.nsems ?? 0), 0);
    if (used + RING_SEMAPHORES > semmns) {
      return `the system's semaphores are all taken: SEMMNS is ${semmns}, ${used} in use, the ring needs ${RING_SEMAPHORES} (semget: ENOSPC); ${semField('SEMMNS', '2nd')}`;
    }
    const shmmni = sysctlNumber('shmmni');
    if (segments.length >= shmmni) {
      return `the system's shared memory segments are all taken: SHMMNI is ${shmmni}, ${segments.length} exist (shmget: ENOSPC); raise sysctl kernel.shmmni`;
    }
    const shmall = sysctlNumber('shmall');
    const pages = segments.reduce((n, s) => n + Math.ceil((s.size ?? 0) / PAGE_BYTES), 0);
    if (pages + Math.ceil(bytes / PAGE_BYTES) > shmall) {
      return `the ring (${bytes} bytes) would take System V shared memory past SHMALL: ${shmall} pages, ${pages} in use (shmget: ENOSPC); raise sysctl kernel.shmall`;
    }
    return `a System V limit ran out (shmget/semget: ENOSPC): see SEMMNI and SEMMNS (sysctl kernel.sem), kernel.shmmni and kernel.shmall`;
  }
  if (code === 'EINVAL') {
    if (semmsl < RING_SEMAPHORES) {
      return `the ring's array of ${RING_SEMAPHORES} semaphores is above SEMMSL, ${semmsl} (semget: EINVAL); ${semField('SEMMSL', '1st')}`;
    }
    const shmmax = sysctlNumber('shmmax');
    if (bytes > shmmax) {
      return `the ring (${bytes} bytes) is larger than SHMMAX, ${shmmax} bytes (shmget: EINVAL); raise sysctl kernel.shmmax to at least ${bytes}`;
    }
    return undefined;
  }
  if (code === 'ENOMEM') return `the kernel has no memory left for the ring (${bytes} bytes) or its semaphores (shmget/semget: ENOMEM); free some memory`;
  return undefined;
}
