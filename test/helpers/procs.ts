/**
 * Real ipcast processes for end-to-end tests: spawn, wait for a line on stderr, and make sure
 * every one is killed when the test ends (call killAll in afterEach).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { execa, type ResultPromise } from 'execa';

import { IPCAST_BIN } from './cli.js';

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
}

export function spawnIpcast(args: string[], opts: SpawnOptions = {}): Proc {
  const argv = [...(opts.wrap ?? []), process.execPath, IPCAST_BIN, ...args];
  const proc = execa(argv[0]!, argv.slice(1), {
    reject: false,
    encoding: 'utf8',
    buffer: true,
    stdin: 'ignore',
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

/** A port that was free a moment ago (UDP or TCP). */
export async function freePort(kind: 'udp' | 'tcp' = 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    return port;
  }
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


/** Connects to 127.0.0.1:port, retrying every 50 ms while nothing listens yet (bounded). */
export async function connectWhenListening(port: number, timeoutMs = 10_000): Promise<net.Socket> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const sock = net.connect(port, '127.0.0.1');
    const err = await new Promise<Error | undefined>((resolve) => {
      sock.once('connect', () => resolve(undefined));
      sock.once('error', resolve);
    });
    if (!err) return sock;
    sock.destroy();
    if (Date.now() > end) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms: ${err.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
