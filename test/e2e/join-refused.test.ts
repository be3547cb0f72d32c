/**
 * When the kernel refuses a multicast join, `ipcast recv` exits 1 with one line (ERR_JOIN).
 * The refusal is made in a private network namespace whose IGMP membership limit is lowered
 * to 0: `unshare -r -n` (a user namespace too, so an ordinary user may write the namespace's
 * net.ipv4.igmp_max_memberships), or `unshare -n` as root where user namespaces are off.
 * Nothing leaves the namespace: it has only lo.
 */
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import { IPCAST_BIN } from '../helpers/cli.js';
import { CAP, hasCapability } from '../helpers/privileges.js';

const SETUP = 'ip link set lo up && echo 0 > /proc/sys/net/ipv4/igmp_max_memberships';

/** The unshare prefix that gives a private network namespace whose IGMP limit we may write, if any. */
function namespacePrefix(): string[] | undefined {
  const probe = (args: string[]) => spawnSync('unshare', [...args, 'sh', '-c', SETUP], { stdio: 'ignore' }).status === 0;
  if (probe(['-r', '-n'])) return ['unshare', '-r', '-n'];
  if (hasCapability(CAP.SYS_ADMIN) && probe(['-n'])) return ['unshare', '-n'];
  return undefined;
}
const UNSHARE = namespacePrefix();

describe('a multicast join the kernel refuses', () => {
  for (const url of ['udp://@239.255.77.1:5004?iface=127.0.0.1', 'udp://@232.1.1.1:5004?iface=127.0.0.1&source=127.0.0.1']) {
    it.skipIf(!UNSHARE)(`recv ${url}: exit 1, one line naming the group and the reason${UNSHARE ? '' : ' (needs root or user namespaces)'}`, async () => {
      const r = await execa(UNSHARE![0]!, [...UNSHARE!.slice(1), 'sh', '-c', `${SETUP} || exit 99; exec "$@"`, 'sh', process.execPath, IPCAST_BIN, 'recv', url, '--idle-timeout', '2'], {
        reject: false,
        timeout: 20_000,
        stdin: 'ignore',
      });
      expect(r.exitCode, r.stderr).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^ipcast: cannot join (239\.255\.77\.1|232\.1\.1\.1) on 127\.0\.0\.1: .*ENOBUFS/);
    });
  }
});
