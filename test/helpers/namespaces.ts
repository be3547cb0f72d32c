/**
 * Private Linux namespaces for tests that lower a kernel limit without touching the machine's:
 * `unshare -r KIND` (a user namespace as well, so an ordinary user may write the new
 * namespace's sysctls), or `unshare KIND` as root where user namespaces are off.
 */
import { spawnSync } from 'node:child_process';

import { CAP, hasCapability } from './privileges.js';

/** The unshare prefix of a private namespace (`-i` IPC, `-n` network) in which the sh command `probe` succeeds, if any. */
export function privateNamespace(kind: '-i' | '-n', probe: string): string[] | undefined {
  const ok = (args: string[]) => spawnSync('unshare', [...args, 'sh', '-c', probe], { stdio: 'ignore' }).status === 0;
  if (ok(['-r', kind])) return ['unshare', '-r', kind];
  if (hasCapability(CAP.SYS_ADMIN) && ok([kind])) return ['unshare', kind];
  return undefined;
}
