/**
 * TcpServerOutput alone: the listen backlog asked of the kernel, accept failures counted as
 * refusals (EMFILE said once), and chunks of one event-loop turn written as one buffer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { DEFAULT_LISTEN_BACKLOG, TcpServerOutput } from '../../../src/sender/outputs/tcp-server.js';
import type { TcpEndpoint } from '../../../src/shared/url.js';
import { waitFor } from '../../helpers/wait.js';

const ep: TcpEndpoint = { proto: 'tcp', host: '127.0.0.1', port: 0, family: 4, url: 'tcp://127.0.0.1:0' };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function server(opts: ConstructorParameters<typeof TcpServerOutput>[1] = {}): Promise<TcpServerOutput> {
  const out = new TcpServerOutput(ep, opts);
  await out.open();
  cleanups.push(() => out.close([]));
  return out;
}

describe('TcpServerOutput', () => {
  it('listens with the backlog the kernel allows (somaxconn), not Node’s 511', async () => {
    const out = await server();
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    let ss: string;
    try {
      ss = execFileSync('ss', ['-Hltn', `sport = :${out.address().port}`], { encoding: 'utf8', timeout: 5000 });
    } catch {
      return; // no ss on this machine: nothing to read the backlog with
    }
    // ss: State Recv-Q Send-Q Local Peer; for a listener Send-Q is the backlog.
    expect(Number(ss.trim().split(/\s+/)[2])).toBe(Math.min(DEFAULT_LISTEN_BACKLOG, somaxconn));
  });

  it('an accept failure is a refusal; running out of fds is said once, in one line', async () => {
    const lines: string[] = [];
    const out = await server({ log: (l) => lines.push(l) });
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    out.acceptFailed(emfile);
    out.acceptFailed(emfile);
    out.acceptFailed(Object.assign(new Error('accept ECONNABORTED'), { code: 'ECONNABORTED' }));
    expect(out.stats.clientsRefused).toBe(3);
    expect(lines).toEqual([`${ep.url}: out of file descriptors (EMFILE) at 0 clients; serving those, refusing new ones (raise \`ulimit -Hn\`)`]);
  });

  it('chunks sent in one turn reach a client in order, counted one by one', async () => {
    const out = await server();
    const sock: Socket = connect(out.address().port, '127.0.0.1');
    cleanups.push(() => void sock.destroy());
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    expect(await waitFor(() => out.clientCount === 1, 2000)).toBe(true);
    const a = Buffer.alloc(1000, 1);
    const b = Buffer.alloc(2000, 2);
    out.send(a);
    out.send(b);
    expect(out.stats.chunks).toBe(0); // not written yet: flushed by setImmediate
    expect(await waitFor(() => Buffer.concat(got).length === 3000, 2000)).toBe(true);
    expect(Buffer.concat(got).equals(Buffer.concat([a, b]))).toBe(true);
    expect(out.stats.chunks).toBe(2);
    expect(out.stats.bytes).toBe(3000);
  });
});
