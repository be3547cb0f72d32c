/**
 * A UDP output: multicast (interface, TTL and loopback honoured; never without an
 * interface), unicast or broadcast. One chunk is one datagram. Send errors (EAGAIN, ENOBUFS,
 * ECONNREFUSED from an ICMP port unreachable...) are counted, never fatal. At most
 * `maxInflight` datagrams wait in libuv's send queue; ready() holds an unpaced sender there.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

import { RuntimeError, UsageError, describeSystemError } from '../../shared/errors.js';
import type { UdpEndpoint } from '../../shared/url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';

export const DEFAULT_MAX_INFLIGHT = 256;

/** Is `addr` an address of one of this machine's interfaces? */
export function isLocalAddress(addr: string): boolean {
  const want = addr.toLowerCase();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase() === want) return true;
  }
  return false;
}

export class UdpOutput implements Output {
  readonly stats: OutputStats;
  private socket: Socket | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    readonly endpoint: UdpEndpoint,
    private readonly maxInflight = DEFAULT_MAX_INFLIGHT,
  ) {
    this.stats = newOutputStats(endpoint.url, 'udp', endpoint.mode);
  }

  async open(): Promise<void> {
    const ep = this.endpoint;
    if (ep.mode === 'multicast') {
      // Never send multicast without naming the interface: it would leave by the default route.
      if (!ep.iface) throw new UsageError(`${ep.url}: a multicast output must name its interface (?iface=ADDR)`, 'ERR_BAD_URL');
      if (isIP(ep.iface) !== ep.family) {
        throw new UsageError(`${ep.url}: iface ${ep.iface} is not of the group's address family`, 'ERR_BAD_URL');
      }
      if (!isLocalAddress(ep.iface)) {
        throw new UsageError(`${ep.url}: interface address ${ep.iface} is not on this machine`, 'ERR_BAD_IFACE');
      }
    }
    const socket = createSocket({ type: ep.family === 6 ? 'udp6' : 'udp4' });
    socket.on('error', (err) => countError(this.stats, err));
    const address = ep.mode === 'multicast' ? ep.iface! : ep.family === 6 ? '::' : '0.0.0.0';
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address, port: 0, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (ep.mode === 'multicast') {
        socket.setMulticastInterface(ep.iface!);
        socket.setMulticastTTL(ep.ttl);
        socket.setMulticastLoopback(ep.loop);
      } else if (ep.mode === 'broadcast') {
        socket.setBroadcast(true);
      }
    } catch (err) {
      socket.close();
      throw new RuntimeError(`${ep.url}: ${describeSystemError(err)}`, 'ERR_OUTPUT', { cause: err });
    }
    this.socket = socket;
  }

  send(buf: Buffer, guide = false): void {
    const socket = this.socket;
    if (!socket) return;
    this.stats.inflight++;
    try {
      socket.send(buf, this.endpoint.port, this.endpoint.host, (err) => this.sent(err, buf.length, guide));
    } catch (err) {
      this.sent(err as Error, buf.length, guide);
    }
  }

  private sent(err: Error | null, bytes: number, guide: boolean): void {
    this.stats.inflight--;
    if (err) countError(this.stats, err);
    else {
      this.stats.chunks++;
      this.stats.bytes += bytes;
      if (guide) this.stats.guides++;
    }
    if (this.waiters.length > 0 && this.stats.inflight < this.maxInflight / 2) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  ready(): Promise<void> | null {
    if (this.stats.inflight < this.maxInflight || !this.socket) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(final: Buffer[]): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    for (const b of final) this.send(b);
    // Let queued datagrams go (bounded), then close.
    const deadline = Date.now() + 1000;
    while (this.stats.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    this.socket = null;
    for (const f of this.waiters.splice(0)) f();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
