/**
 * When a System V limit runs out, `ipcast recv` exits 1 with one line that names the limit
 * and the sysctl that raises it, and leaves nothing behind (src/transport/limits.ts).
 *
 * Each case runs recv in a private IPC namespace whose limits it lowers first: `unshare -r -i`
 * (a user namespace as well, so an ordinary user may write the namespace's kernel.sem,
 * kernel.shmmni, kernel.shmmax, kernel.shmall and kernel.msgmni), or `unshare -i` as root
 * where user namespaces are off. The machine's own limits and objects are never touched, and
 * `/proc/sysvipc` read inside the namespace after recv exits must list nothing.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import { IPCAST_BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';
import { privateNamespace } from '../helpers/namespaces.js';

const UNSHARE = privateNamespace('-i', 'echo 1 > /proc/sys/kernel/msgmni');
const MARK = '--- sysvipc after recv';

const CASES: { limit: string; setup: string; transport: string; line: RegExp }[] = [
  { limit: 'SEMMNI', setup: 'echo "250 32000 32 0" > /proc/sys/kernel/sem', transport: 'shm', line: /semaphore arrays are all taken: SEMMNI is 0.*semget: ENOSPC.*raise SEMMNI, the 4th field of sysctl kernel\.sem/ },
  { limit: 'SEMMNS', setup: 'echo "250 2 32 32000" > /proc/sys/kernel/sem', transport: 'shm', line: /semaphores are all taken: SEMMNS is 2.*semget: ENOSPC.*raise SEMMNS, the 2nd field of sysctl kernel\.sem/ },
  { limit: 'SEMMSL', setup: 'echo "2 32000 32 32000" > /proc/sys/kernel/sem', transport: 'shm', line: /array of 3 semaphores is above SEMMSL, 2 \(semget: EINVAL\); raise SEMMSL, the 1st field of sysctl kernel\.sem/ },
  { limit: 'SHMMNI', setup: 'echo 0 > /proc/sys/kernel/shmmni', transport: 'shm', line: /shared memory segments are all taken: SHMMNI is 0, .*shmget: ENOSPC.*raise sysctl kernel\.shmmni$/ },
  { limit: 'SHMMAX', setup: 'echo 4096 > /proc/sys/kernel/shmmax', transport: 'shm', line: /the ring \(\d+ bytes\) is larger than SHMMAX, 4096 bytes \(shmget: EINVAL\); raise sysctl kernel\.shmmax to at least \d+$/ },
  { limit: 'SHMALL', setup: 'echo 100 > /proc/sys/kernel/shmall', transport: 'shm', line: /past SHMALL: 100 pages.*shmget: ENOSPC.*raise sysctl kernel\.shmall$/ },
  { limit: 'MSGMNI', setup: 'echo 0 > /proc/sys/kernel/msgmni', transport: 'msg', line: /message queues are all taken: MSGMNI is 0, .*msgget: ENOSPC.*raise sysctl kernel\.msgmni$/ },
  // The queue fails after the ring and the pipe child have started: they are undone too.
  { limit: 'MSGMNI, with the ring and the pipe child already made', setup: 'echo 0 > /proc/sys/kernel/msgmni', transport: 'pipe,shm,msg', line: /^ipcast: msg transport: .*MSGMNI is 0, .*raise sysctl kernel\.msgmni$/ },
];

const title = (c: (typeof CASES)[number]) => `${c.limit} (--transport ${c.transport}): exit 1, one line naming it and its sysctl, nothing left${UNSHARE ? '' : ' (needs root or user namespaces)'}`;

describe('recv at a System V limit, in a private IPC namespace', () => {
  for (const c of CASES) {
    it.skipIf(!UNSHARE)(title(c), async () => {
      const port = await freePort('udp');
      const script = `${c.setup} || exit 99; "$@"; rc=$?; echo '${MARK}'; cat /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg; exit $rc`;
      const r = await execa(UNSHARE![0]!, [...UNSHARE!.slice(1), 'sh', '-c', script, 'sh', process.execPath, IPCAST_BIN, 'recv', `udp://@127.0.0.1:${port}`, '--transport', c.transport], {
        reject: false,
        timeout: 20_000,
        stdin: 'ignore',
      });
      expect(r.exitCode, r.stderr).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^ipcast: (shm|msg) transport: cannot create it: /);
      expect(lines[0]).toMatch(c.line);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      // Inside the namespace after recv: the three header lines and no object.
      const after = r.stdout.slice(r.stdout.indexOf(MARK) + MARK.length).trim().split('\n');
      expect(r.stdout).toContain(MARK);
      expect(after.filter((l) => !/^\s*key\s/.test(l))).toEqual([]);
    }, 30_000);
  }
});
