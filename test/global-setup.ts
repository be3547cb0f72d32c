/**
 * Builds what the integration tests run: dist/ (the CLI the tests spawn) is compiled from
 * the current sources, and the native parts must exist. Fails loudly rather than skipping.
 *
 * After the whole run, always (not only in CI), checks that no System V object this run
 * created is left behind. Other programs on a dev machine (another engineer's test run in
 * the same checkout, a database, X11) create System V objects too, so an object counts as
 * this run's leak only when all of these hold:
 *
 *  1. it exists after the run and did not before (kind and id: the kernel gives a reused slot
 *     a new id, so an id seen before is never a new object);
 *  2. its creator uid (cuid) is ours;
 *  3. none of the pids the kernel keeps for it is a live process outside this run:
 *       shm  cpid (creator) and lpid (last shmat/shmdt)       /proc/sysvipc/shm
 *       msg  lspid and lrpid (last msgsnd, last msgrcv)        /proc/sysvipc/msg
 *       sem  the last semop's pid of each semaphore            `ipcs -s -i ID` (semctl GETPID);
 *                                                              /proc/sysvipc/sem names no pid
 *     A pid is this run's when it is this process or a descendant of it (ppid chain), or when
 *     its environment carries this run's IPCAST_TEST_RUN token (set here, inherited by the
 *     workers and everything they spawn: it finds orphans reparented away from our tree).
 *     A pid of 0 (never used) or of a process that no longer exists does not protect it.
 *
 * At teardown the workers have exited, so a leak of this run shows only gone pids (or live
 * orphans carrying the token), while a live object of another program shows a live pid that
 * is not ours and is left alone. A sink still removing its objects after its owner died
 * gets SETTLE_MS. What the rule cannot tell: an object that another program of the same user
 * created during the run and left behind when it exited (counted; a leak all the same), and
 * a gone pid that an unrelated process has taken over since (missed).
 * Counted leaks are removed (ipcrm) and fail the run (exit code 1).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { listSysv, type SysvKind, type SysvObject } from '../src/transport/sysvipc.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const KINDS: SysvKind[] = ['shm', 'sem', 'msg'];
const SETTLE_MS = 3000;
const TOKEN_VAR = 'IPCAST_TEST_RUN';

function key(o: { kind: SysvKind; id: number }): string {
  return `${o.kind}:${o.id}`;
}

function liveObjects(): SysvObject[] {
  return KINDS.flatMap((k) => listSysv(k));
}

/** The pid of the last semop on each semaphore of an array (`ipcs -s -i`), [] if unknown. */
function semPids(id: number): number[] {
  let text: string;
  try {
    text = execFileSync('ipcs', ['-s', '-i', String(id)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^semnum\s/.test(l));
  if (head < 0) return [];
  const col = lines[head]!.trim().split(/\s+/).indexOf('pid');
  return lines
    .slice(head + 1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > col && /^\d+$/.test(f[0]!))
    .map((f) => Number(f[col]));
}

function pidsOf(o: SysvObject): number[] {
  if (o.kind === 'shm') return [o.cpid ?? 0, o.lpid ?? 0];
  if (o.kind === 'msg') return [o.lspid ?? 0, o.lrpid ?? 0];
  return semPids(o.id);
}

function parentOf(pid: number): number {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function carriesToken(pid: number, token: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${TOKEN_VAR}=${token}`);
  } catch {
    return false;
  }
}

/** Alive and not ours: another program's process, which keeps the object out of the count. */
function foreign(pid: number, token: string): boolean {
  if (!(pid > 0) || !existsSync(`/proc/${pid}`)) return false;
  for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) {
    if (p === process.pid) return false;
  }
  return !carriesToken(pid, token);
}

function leaks(before: Set<string>, token: string, uid: number): SysvObject[] {
  return liveObjects().filter((o) => !before.has(key(o)) && (uid < 0 || o.cuid === uid) && !pidsOf(o).some((p) => foreign(p, token)));
}

export default function setup(): () => Promise<void> {
  // tsc emits even when a file has type errors; `npm test` typechecks separately first, so a
  // half-edited file elsewhere does not stop other tests from running during development.
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
      stdio: 'pipe',
    });
  } catch (err) {
    process.stderr.write(`global-setup: tsc reported type errors (dist/ emitted anyway):\n${String((err as { stdout?: Buffer }).stdout ?? '')}\n`);
  }
  for (const f of ['build/Release/ipcast.node', 'build/Release/ipcast-sink']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm run rebuild (node-gyp rebuild and tsc) first`);
  }
  const token = `${process.pid}-${Date.now()}`;
  process.env[TOKEN_VAR] = token;
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const before = new Set(liveObjects().map(key));
  return async () => {
    let left = leaks(before, token, uid);
    for (const until = Date.now() + SETTLE_MS; left.length > 0 && Date.now() < until; left = leaks(before, token, uid)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (left.length === 0) return;
    const what = left.map((o) => `${key(o)} (pids ${pidsOf(o).join(',') || 'none'})`);
    for (const o of left) {
      try {
        execFileSync('ipcrm', [o.kind === 'shm' ? '-m' : o.kind === 'sem' ? '-s' : '-q', String(o.id)], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    // vitest reports a teardown error but keeps its exit code: set it, so the run fails.
    process.exitCode = 1;
    throw new Error(`System V objects left after the test run (now removed): ${what.join(', ')}`);
  };
}
