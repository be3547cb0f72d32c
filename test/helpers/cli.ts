/**
 * The one way the tests run the built CLI (dist/, compiled by the global setup) as a user
 * would: ipcast() runs it to the end; spawnIpcast() starts a long-running one, waits for a
 * line, and killAll() (call it in afterEach) kills every one still running.
 */
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

export const IPCAST_BIN = fileURLToPath(new URL('../../bin/ipcast.js', import.meta.url));

export function ipcast(args: string[], options: { timeout?: number; input?: string | Buffer; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [IPCAST_BIN, ...args], {
    reject: false,
    timeout: options.timeout ?? 20_000,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    ...(options.env ? { env: options.env } : {}),
    encoding: 'utf8',
  });
}

export type IpcastProcess = ResultPromise;

export interface Proc {
  proc: ResultPromise<{ reject: false; encoding: 'utf8'; buffer: true }>;
  stderrText(): string;
  stdoutText(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

const live = new Set<ResultPromise>();

export interface SpawnOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** A command to run ipcast under (strace, setpriv, ...). */
  wrap?: string[];
  /** What the process reads on stdin (default: nothing). */
  input?: Buffer;
}

export function spawnIpcast(args: string[], opts: SpawnOptions = {}): Proc {
  const argv = [...(opts.wrap ?? []), process.execPath, IPCAST_BIN, ...args];
  const proc = execa(argv[0]!, argv.slice(1), {
    reject: false,
    encoding: 'utf8',
    buffer: true,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  }) as Proc['proc'];
  live.add(proc);
  void proc.finally(() => live.delete(proc));
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    proc,
    stderrText: () => err,
    stdoutText: () => out,
    waitFor: (re, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = re.exec(err) ?? re.exec(out);
          if (m) {
            clearInterval(t);
            clearTimeout(to);
            resolve(m[0]);
            return true;
          }
          return false;
        };
        const t = setInterval(check, 20);
        const to = setTimeout(() => {
          clearInterval(t);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stderr so far:\n${err}`));
        }, timeoutMs);
        void proc.finally(() => setTimeout(() => {
          if (!check()) {
            clearInterval(t);
            clearTimeout(to);
            reject(new Error(`process exited before ${re}; stderr:\n${err}`));
          }
        }, 50));
        check();
      }),
  };
}

export async function killAll(): Promise<void> {
  const procs = [...live];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.catch(() => {})));
}
