/**
 * A UDP output: multicast (interface, TTL and loopback honoured; never without an
 * interface), unicast or broadcast. One chunk is one datagram. Send errors (EAGAIN, ENOBUFS,
 * ECONNREFUSED from an ICMP port unreachable...) are counted, never fatal. At most
 * `maxInflight` datagrams wait to be sent; ready() holds an unpaced sender there.
 *
 * IPv4 goes through the addon (native/udp_binding.cc): send() queues the datagram and the
 * queue leaves with one sendmmsg per 64 datagrams, at once when 64 are waiting, otherwise on
 * the next turn of the event loop (setImmediate), so a paced stream is not delayed. A full
 * socket buffer (EAGAIN) is waited for on the loop (waitWritable), never by blocking.
 * IPv6, or IPCAST_UDP=dgram in the environment: node:dgram, one send per datagram.
 */
import { createSocket, type Socket } from 'node:dgram';
import { constants as osConstants } from 'node:os';
import { isIP } from 'node:net';

import { ipv6MulticastScope, isLocalAddress } from '../../shared/local-address.js';
import { RuntimeError, UsageError, describeSystemError, errnoName } from '../../shared/errors.js';
import { loadNative, type NativeUdpSocket } from '../../shared/native.js';
import { settings } from '../../shared/settings.js';
import type { UdpEndpoint } from '../../shared/url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';

export const DEFAULT_MAX_INFLIGHT = 256;
/** Datagrams per sendmmsg (native/udp_io.h UDP_BATCH). */
const SEND_BATCH = 64;
const EAGAIN = osConstants.errno.EAGAIN;

function errnoError(negErrno: number): NodeJS.ErrnoException {
  const code = errnoName(-negErrno) ?? 'UNKNOWN';
  return Object.assign(new Error(`send failed: ${code}`), { code, errno: negErrno, syscall: 'sendmmsg' });
}

/** Is `addr` an address of one of this machine's interfaces? */

export class UdpOutput implements Output {
  readonly stats: OutputStats;
  private socket: Socket | null = null;
  /** IPv6 multicast: the interface as node:dgram takes it (`::%NAME`). */
  private scope: string | undefined;
  private native: NativeUdpSocket | null = null;
  private waiters: (() => void)[] = [];
  /** Native: datagrams not sent yet (pending[head..]), and which of them are guides. */
  private pending: Buffer[] = [];
  private pendingGuide: boolean[] = [];
  private head = 0;
  private flushScheduled = false;
  private waitingWritable = false;

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
      if (ep.family === 6) {
        // IPv6 multicast leaves by interface index: a name, or the interface holding the address.
        try {
          this.scope = ipv6MulticastScope(ep.iface);
        } catch (err) {
          throw new UsageError(`${ep.url}: ${(err as Error).message}`, 'ERR_BAD_IFACE');
        }
      } else if (isIP(ep.iface) !== ep.family) {
        throw new UsageError(`${ep.url}: iface ${ep.iface} is not of the group's address family`, 'ERR_BAD_URL');
      } else if (!isLocalAddress(ep.iface)) {
        throw new UsageError(`${ep.url}: interface address ${ep.iface} is not on this machine`, 'ERR_BAD_IFACE');
      }
    }
    if (ep.family === 4 && settings().udp === 'native') this.openNative();
    else await this.openDgram();
  }

  private openNative(): void {
    const ep = this.endpoint;
    let socket: NativeUdpSocket | undefined;
    try {
      socket = new (loadNative().UdpSocket)(ep.mode === 'multicast' ? ep.iface! : '', 0, false);
      if (ep.mode === 'multicast') socket.multicastOut(ep.iface!, ep.ttl, ep.loop);
      else if (ep.mode === 'broadcast') socket.setBroadcast(true);
      socket.setDestination(ep.host, ep.port);
    } catch (err) {
      socket?.close();
      throw new RuntimeError(`${ep.url}: ${describeSystemError(err)}`, 'ERR_OUTPUT', { cause: err });
    }
    this.native = socket;
  }

  private async openDgram(): Promise<void> {
    const ep = this.endpoint;
    const socket = createSocket({ type: ep.family === 6 ? 'udp6' : 'udp4' });
    socket.on('error', (err) => countError(this.stats, err));
    // IPv4 multicast binds the interface's address; IPv6 binds any and names the interface below.
    const address = ep.mode === 'multicast' && ep.family === 4 ? ep.iface! : ep.family === 6 ? '::' : '0.0.0.0';
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address, port: 0, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (ep.mode === 'multicast') {
        socket.setMulticastInterface(this.scope ?? ep.iface!);
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

  /** The addon's socket and where it sends, for the native pacing loop; null on node:dgram. */
  nativeDestination(): { fd: number; host: string; port: number } | null {
    const fd = this.native?.fd;
    return fd === undefined ? null : { fd, host: this.endpoint.host, port: this.endpoint.port };
  }

  send(buf: Buffer, guide = false): void {
    if (this.native) {
      this.pending.push(buf);
      this.pendingGuide.push(guide);
      this.stats.inflight++;
      if (this.pending.length - this.head >= SEND_BATCH && !this.waitingWritable) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
      return;
    }
    const socket = this.socket;
    if (!socket) return;
    this.stats.inflight++;
    try {
      socket.send(buf, this.endpoint.port, this.endpoint.host, (err) => this.sent(err, buf.length, guide));
    } catch (err) {
      this.sent(err as Error, buf.length, guide);
    }
  }

  /** Native: sendmmsg what is pending, up to a full socket buffer (then wait for it on the loop). */
  private flush(): void {
    const socket = this.native;
    if (!socket || this.waitingWritable) return;
    const s = this.stats;
    const pending = this.pending;
    while (this.head < pending.length) {
      const r = socket.send(pending, this.head);
      if (r > 0) {
        for (let i = this.head; i < this.head + r; i++) {
          s.chunks++;
          s.bytes += pending[i]!.length;
          if (this.pendingGuide[i]) s.guides++;
        }
        this.head += r;
        s.inflight -= r;
      } else if (r === -EAGAIN) {
        this.waitingWritable = true;
        socket.waitWritable(() => {
          this.waitingWritable = false;
          this.flush();
        });
        break;
      } else {
        // This datagram cannot go (ENOBUFS, EMSGSIZE, ECONNREFUSED...): count it, go on.
        countError(s, errnoError(r));
        this.head++;
        s.inflight--;
      }
    }
    if (this.head === pending.length) {
      this.pending = [];
      this.pendingGuide = [];
      this.head = 0;
    } else if (this.head >= 4096) {
      this.pending = pending.slice(this.head);
      this.pendingGuide = this.pendingGuide.slice(this.head);
      this.head = 0;
    }
    this.wake();
  }

  private sent(err: Error | null, bytes: number, guide: boolean): void {
    this.stats.inflight--;
    if (err) countError(this.stats, err);
    else {
      this.stats.chunks++;
      this.stats.bytes += bytes;
      if (guide) this.stats.guides++;
    }
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length > 0 && this.stats.inflight < this.maxInflight / 2) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  ready(): Promise<void> | null {
    if (this.stats.inflight < this.maxInflight || !(this.socket || this.native)) return null;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(final: Buffer[]): Promise<void> {
    if (!this.socket && !this.native) return;
    for (const b of final) this.send(b);
    this.flush();
    // Let queued datagrams go (bounded), then close.
    const deadline = Date.now() + 1000;
    while (this.stats.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const socket = this.socket;
    const native = this.native;
    this.socket = null;
    this.native = null;
    for (const f of this.waiters.splice(0)) f();
    if (native) native.close();
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
