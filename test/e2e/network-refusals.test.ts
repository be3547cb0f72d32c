/**
 * When the kernel refuses ipcast a network resource, the command exits 1 with one line:
 * - a multicast join (ERR_JOIN): net.ipv4.igmp_max_memberships is 0;
 * - the --flow ack output's socket (ERR_SOCKET): the one ephemeral port is taken.
 * Each case runs in a private network namespace with only lo, whose sysctls it lowers first
 * (test/helpers/namespaces.ts): the machine's own settings are never touched and nothing
 * leaves the namespace.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import { IPCAST_BIN } from '../helpers/cli.js';
import { privateNamespace } from '../helpers/namespaces.js';

const NO_JOINS = 'ip link set lo up && echo 0 > /proc/sys/net/ipv4/igmp_max_memberships';
// One ephemeral port, and a socket holding it (inherited by ipcast: python's exec keeps it).
const ONE_PORT = 'ip link set lo up && echo "40000 40000" > /proc/sys/net/ipv4/ip_local_port_range';
const HOLD_THE_PORT = ['python3', '-c', 'import os,socket,sys; s=socket.socket(2,2); s.bind(("0.0.0.0",40000)); s.set_inheritable(True); os.execvp(sys.argv[1], sys.argv[1:])'];

const UNSHARE = privateNamespace('-n', `${NO_JOINS} && echo "40000 40000" > /proc/sys/net/ipv4/ip_local_port_range`);
const NEEDS = UNSHARE ? '' : ' (needs root or user namespaces)';

/** Runs `ipcast ARGS` (behind `wrap`) in a fresh namespace after `setup`; its exit code and stderr lines. */
async function inNamespace(setup: string, args: string[], wrap: string[] = []): Promise<{ code: number | undefined; lines: string[] }> {
  const r = await execa(UNSHARE![0]!, [...UNSHARE!.slice(1), 'sh', '-c', `${setup} || exit 99; exec "$@"`, 'sh', ...wrap, process.execPath, IPCAST_BIN, ...args], {
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
  });
  return { code: r.exitCode, lines: r.stderr.trimEnd().split('\n') };
}

describe('a multicast join the kernel refuses (ERR_JOIN)', () => {
  for (const url of ['udp://@239.255.77.1:5004?iface=127.0.0.1', 'udp://@232.1.1.1:5004?iface=127.0.0.1&source=127.0.0.1']) {
    it.skipIf(!UNSHARE)(`recv ${url}: exit 1, one line naming the group and the reason${NEEDS}`, async () => {
      const r = await inNamespace(NO_JOINS, ['recv', url, '--idle-timeout', '2']);
      expect(r.code, r.lines.join('\n')).toBe(1);
      expect(r.lines, r.lines.join('\n')).toHaveLength(1);
      expect(r.lines[0]).toMatch(/^ipcast: cannot join (239\.255\.77\.1|232\.1\.1\.1) on 127\.0\.0\.1: .*ENOBUFS/);
    });
  }
});

describe('a socket that cannot be bound (ERR_SOCKET)', () => {
  it.skipIf(!UNSHARE)(`send --flow ack with no ephemeral port free: exit 1, one line${NEEDS}`, async () => {
    const r = await inNamespace(ONE_PORT, ['send', 'tone:440:1', '--flow', 'ack', '--to', 'udp://127.0.0.1:5000'], HOLD_THE_PORT);
    expect(r.code, r.lines.join('\n')).toBe(1);
    expect(r.lines, r.lines.join('\n')).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^ipcast: cannot open udp:\/\/127\.0\.0\.1:5000: .*EADDRINUSE/);
  });
});
