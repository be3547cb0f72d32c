/**
 * Test helpers for the sender tests: receiving sockets written here (not ipcast recv),
 * all on 127.0.0.1, each bounded in time, and a runner for `ipcast send`.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ChunkFramer } from '../../src/shared/framer.js';
import { spawnIpcast, type Proc } from './cli.js';
import type { Chunk } from '../../src/shared/protocol.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface Datagram {
  data: Buffer;
  at: number;
}

export interface UdpReceiver {
  port: number;
  got: Datagram[];
  socket: UdpSocket;
  close(): Promise<void>;
}

/** A unicast receiver on 127.0.0.1:ephemeral, or a member of `group` on interface 127.0.0.1. */
export async function udpReceiver(group?: string): Promise<UdpReceiver> {
  const socket = createSocket({ type: 'udp4' });
  const got: Datagram[] = [];
  socket.on('message', (data) => got.push({ data, at: performance.now() }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    // A multicast member binds the wildcard to receive the group's datagrams; it joins on loopback only.
    socket.bind({ address: group ? '0.0.0.0' : '127.0.0.1', port: 0 }, () => resolve());
  });
  if (group) socket.addMembership(group, '127.0.0.1');
  socket.setRecvBufferSize(4 * 1024 * 1024);
  return {
    port: socket.address().port,
    got,
    socket,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** A port that was free a moment ago (for a CLI under test to listen on). */

export interface Run {
  child: Proc['proc'];
  /** Resolves when the process has exited. */
  result: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `ipcast send ARGS` (spawnIpcast, run from the package root); killed after `timeoutMs` so no test hangs. */
export function runSend(args: string[], timeoutMs = 20_000, input?: Buffer): Run {
  const p = spawnIpcast(['send', ...args], { cwd: ROOT, timeoutMs, ...(input ? { input } : {}) });
  // the text as written (execa's result drops the last newline)
  const result = p.proc.then((r) => ({ code: r.exitCode ?? null, signal: (r.signal ?? null) as NodeJS.Signals | null, stdout: p.stdoutText(), stderr: p.stderrText() }));
  return { child: p.proc, result };
}


export interface TcpClient {
  socket: Socket;
  chunks: Chunk[];
  bytes: Buffer[];
  received: () => number;
  errors: string[];
  ended: Promise<void>;
}

/** Connects to 127.0.0.1:port, retrying while the server is not up yet (bounded). */
export async function tcpClient(port: number, { frame = true, retryMs = 10_000 } = {}): Promise<TcpClient> {
  const end = Date.now() + retryMs;
  for (;;) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
      const chunks: Chunk[] = [];
      const bytes: Buffer[] = [];
      const errors: string[] = [];
      let total = 0;
      const framer = new ChunkFramer({ chunk: (c) => chunks.push({ ...c, payload: Buffer.from(c.payload) }), error: (r) => errors.push(r) });
      socket.on('data', (d: Buffer) => {
        total += d.length;
        if (frame) framer.push(d);
        else bytes.push(d);
      });
      const ended = new Promise<void>((r) => socket.on('close', () => r()));
      socket.on('error', () => {});
      return { socket, chunks, bytes, errors, ended, received: () => total };
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
