/**
 * The routed-multicast topology of scripts/mcast-topology.sh (one sender, one router running
 * smcroute, three receiver segments, each namespace named after this run's pid), for tests.
 * Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root); as an ordinary user `NETNS_OK` is false and the
 * cases skip with "(needs root)" in their title. As root, smcroute must be installed
 * (.ci/run installs it): a missing smcrouted fails the test, it does not skip it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { CAP, hasCapability } from './privileges.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/mcast-topology.sh', import.meta.url));

export const NETNS_OK = hasCapability(CAP.SYS_ADMIN) && hasCapability(CAP.NET_ADMIN);
export const NEEDS_ROOT = NETNS_OK ? '' : ' (needs root: network namespaces)';

/** The three receiver segments: namespace suffix, IPv4 and IPv6 address of its receiver. */
export const SEGMENTS = [
  { leaf: 'a', v4: '10.13.1.2', v6: 'fd13:1::2' },
  { leaf: 'b', v4: '10.13.2.2', v6: 'fd13:2::2' },
  { leaf: 'c', v4: '10.13.3.2', v6: 'fd13:3::2' },
] as const;
export const SENDER = { v4: '10.13.0.2', v6: 'fd13::2' } as const;
/** The router's address on the sender's segment (a receiver there sees what the sender sent). */
export const ROUTER_ON_SENDER_SEGMENT = { v4: '10.13.0.1', v6: 'fd13::1' } as const;
/** Groups smcroute forwards (scripts/mcast-topology.sh): any-source and source-specific. */
export const GROUPS = { asm: '239.13.0', ssm: '232.13.0', asm6: 'ff15::13:', ssm6: 'ff3e::13:' } as const;

export interface Topology {
  id: string;
  /** Full namespace name: 's', 'r', 'a', 'b' or 'c'. */
  ns(which: string): string;
  /** A command prefix that runs a program in that namespace. */
  wrap(which: string): string[];
  down(): void;
}

export function topologyUp(tag: string): Topology {
  const id = `i13${tag}-${process.pid}`;
  const topo: Topology = {
    id,
    ns: (w) => `${id}-${w}`,
    wrap: (w) => ['ip', 'netns', 'exec', `${id}-${w}`],
    down: () => void spawnSync('bash', [SCRIPT, 'down', id], { stdio: 'ignore', timeout: 15_000 }),
  };
  try {
    execFileSync('bash', [SCRIPT, 'up', id], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  } catch (err) {
    topo.down();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`scripts/mcast-topology.sh up ${id} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
  return topo;
}
