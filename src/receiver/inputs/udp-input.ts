/**
 * Receives datagrams: joins a multicast group on a named interface (optionally source-specific)
 * or binds a unicast port. Asks for SO_RCVBUF when told and reports when the kernel gave less
 * (net.core.rmem_max). Exposes the kernel's drop counter for the socket (/proc/net/udp).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

import { RuntimeError, UsageError, describeSystemError } from '../../shared/errors.js';
import type { UdpEndpoint } from '../../shared/url.js';

export const DEFAULT_RCVBUF_BYTES = 4 * 1024 * 1024;

export interface UdpInput {
  readonly port: number;
  /** The kernel's count of datagrams dropped on this socket (receive buffer full). */
  kernelDrops(): number;
  close(): Promise<void>;
}

export interface UdpInputHandlers {
  datagram(buf: Buffer, from: string): void;
  warning(message: string): void;
}

export function isLocalAddress(addr: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === addr));
}

export async function openUdpInput(ep: UdpEndpoint, handlers: UdpInputHandlers): Promise<UdpInput> {
  if (ep.iface !== undefined && !isLocalAddress(ep.iface)) {
    throw new UsageError(`interface address ${ep.iface} is not on this machine`, 'ERR_BAD_INTERFACE');
  }
  const socket = dgram.createSocket({ type: ep.family === 6 ? 'udp6' : 'udp4', reuseAddr: ep.mode === 'multicast' });
  socket.on('message', (msg, rinfo) => handlers.datagram(msg, rinfo.address));

  // Bind: a group is joined by binding its port on the group address (so only its datagrams
  // arrive), a unicast URL binds the given address or any.
  const bindAddress = ep.mode === 'multicast' ? ep.host : ep.host || undefined;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port: ep.port, ...(bindAddress ? { address: bindAddress } : {}), exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    socket.close();
    throw new RuntimeError(`cannot listen on ${ep.url}: ${describeSystemError(err)}`, 'ERR_LISTEN', { cause: err });
  });
  // After bind, a socket error must not crash the relay: report it and go on.
  socket.on('error', (err) => handlers.warning(`udp socket: ${describeSystemError(err)}`));

  try {
    if (ep.mode === 'multicast') {
      if (ep.source) socket.addSourceSpecificMembership(ep.source, ep.host, ep.iface);
      else socket.addMembership(ep.host, ep.iface);
    }
  } catch (err) {
    socket.close();
    throw new RuntimeError(`cannot join ${ep.host} on ${ep.iface}: ${describeSystemError(err)}`, 'ERR_JOIN', { cause: err });
  }

  // A live stream must survive the receiver being descheduled for a few tens of ms: ask for
  // DEFAULT_RCVBUF_BYTES unless told otherwise (the kernel caps it at net.core.rmem_max).
  const asked = ep.rcvbuf ?? DEFAULT_RCVBUF_BYTES;
  try {
    socket.setRecvBufferSize(asked);
  } catch (err) {
    handlers.warning(`could not set rcvbuf=${asked}: ${describeSystemError(err)}`);
  }
  if (ep.rcvbuf !== undefined) {
    // Linux doubles the value it stores (bookkeeping overhead) and caps the request at rmem_max.
    const got = Math.floor(socket.getRecvBufferSize() / 2);
    if (got < ep.rcvbuf) {
      handlers.warning(
        `receive buffer: asked ${ep.rcvbuf} bytes, the kernel gave ${got} (raise net.core.rmem_max to get more)`,
      );
    }
  }

  const port = socket.address().port;
  const inode = socketInode(port, ep.family);
  return {
    port,
    kernelDrops: () => readUdpDrops(ep.family, port, inode),
    close: () =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      }),
  };
}

function procFile(family: 4 | 6): string {
  return family === 6 ? '/proc/net/udp6' : '/proc/net/udp';
}

/** Lines of /proc/net/udp: "sl local rem st tx:rx tr:tm retr uid timeout inode ref pointer drops". */
function udpLines(family: 4 | 6, port: number): string[][] {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    return readFileSync(procFile(family), 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 13 && f[1]!.endsWith(`:${hexPort}`));
  } catch {
    return [];
  }
}

function socketInode(port: number, family: 4 | 6): string | undefined {
  const lines = udpLines(family, port);
  return lines.length === 1 ? lines[0]![9] : undefined;
}

function readUdpDrops(family: 4 | 6, port: number, inode: string | undefined): number {
  const lines = udpLines(family, port).filter((f) => inode === undefined || f[9] === inode);
  return lines.reduce((sum, f) => sum + (Number(f[12]) || 0), 0);
}
