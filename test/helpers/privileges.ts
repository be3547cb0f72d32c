/**
 * What this test process may do, read from its capabilities (not its uid): the suite runs as
 * root (in a 0700 checkout, where no other uid can read bin/ipcast.js) and as an ordinary
 * user. A case that needs a right the process does not have is skipped with "(needs root)"
 * in its title, never passed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Bit numbers from linux/capability.h. */
export const CAP = { DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, SETGID: 6, SETUID: 7, NET_ADMIN: 12, SYS_ADMIN: 21 } as const;

function capEff(): bigint {
  const m = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt('0x' + m[1]!) : 0n;
}

export function hasCapability(bit: number): boolean {
  return ((capEff() >> BigInt(bit)) & 1n) === 1n;
}

function setprivWorks(args: string[]): boolean {
  const r = spawnSync('setpriv', [...args, 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * A command prefix that runs a program without root's right to read anything
 * (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), keeping the uid, so it still reads the checkout:
 * [] when this process does not hold them; undefined when they cannot be dropped here.
 * Both the inheritable and the bounding set lose them: root's exec takes its permitted set
 * from the two.
 */
export function withoutReadAnything(): string[] | undefined {
  if (!hasCapability(CAP.DAC_OVERRIDE) && !hasCapability(CAP.DAC_READ_SEARCH)) return [];
  const wrap = ['setpriv', '--inh-caps=-dac_override,-dac_read_search', '--bounding-set=-dac_override,-dac_read_search'];
  return setprivWorks(wrap.slice(1)) ? wrap : undefined;
}

/** The setpriv prefix that runs a program as uid/gid nobody, when this process may (root). */
export function asNobodyPrefix(): string[] | undefined {
  if (!hasCapability(CAP.SETUID) || !hasCapability(CAP.SETGID)) return undefined;
  const wrap = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  return setprivWorks(wrap.slice(1)) ? wrap : undefined;
}
