/** Shared by the transport tests: a seeded stream, leak checks by id, bounded waits. */
import { createHash } from 'node:crypto';

import { existingIds, type SysvKind } from '../../src/transport/sysvipc.js';
import { waitFor } from './wait.js';
import type { NativeIpcInfo } from '../../src/shared/native.js';

/** xorshift32: the same pseudo-random bytes for a seed, fast enough for MiBs. */
export function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      b[i] = x & 0xff;
    }
    return b;
  };
}

export const ODD_SIZES = [1, 7, 188, 1316, 4093, 8191, 8192, 8193, 16385, 65535, 65536, 3, 40, 1500, 32769];

export function idsOf(info: NativeIpcInfo): { kind: SysvKind; id: number }[] {
  const ids: { kind: SysvKind; id: number }[] = [];
  if (info.shmId !== undefined) ids.push({ kind: 'shm', id: info.shmId });
  if (info.semId !== undefined) ids.push({ kind: 'sem', id: info.semId });
  if (info.msgId !== undefined) ids.push({ kind: 'msg', id: info.msgId });
  return ids;
}

export async function idsGone(info: NativeIpcInfo, timeoutMs = 3000): Promise<{ kind: SysvKind; id: number }[]> {
  await waitFor(() => existingIds(idsOf(info)).length === 0, timeoutMs);
  return existingIds(idsOf(info));
}

export function sha256(bufs: Buffer[]): string {
  const h = createHash('sha256');
  for (const b of bufs) h.update(b);
  return h.digest('hex');
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
