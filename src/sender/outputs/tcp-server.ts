/**
 * A TCP output: a listening server that serves many receivers at once.
 *
 * Slow-receiver policy: each client has a bounded send buffer (`maxClientBufferBytes` of
 * socket.writableLength, 4 MiB by default). A chunk that would take a client over the bound
 * drops that client (destroyed, counted in clientsDropped); it never slows the others. When
 * the stream is unpaced (`--rate max`) the sender is paced by the fastest client instead:
 * ready() holds it while every client has more than `softClientBufferBytes` queued, and a
 * client that makes no progress for `stallMs` while holding everyone is dropped as well.
 *
 * A new client receives the current guide at once (ipcast format). Whatever a client sends
 * is read and discarded. `maxClients` connections are served; more are closed at once and
 * counted in clientsRefused. At the end each client gets the end-of-stream chunks (ipcast
 * format; in raw format the close of the connection is the end) and the connection is ended.
 *
 * Many clients at once: the server listens with a backlog of `backlog` (DEFAULT_LISTEN_BACKLOG;
 * the kernel truncates it to net.core.somaxconn). Node's default, 511, is too short for
 * thousands of clients connecting together: once the accept queue is full the kernel drops the
 * client's final ACK (net.ipv4.tcp_abort_on_overflow=0), and when the SYN was answered with a
 * syncookie nothing is ever retransmitted, so the client believes it is connected while this
 * server never hears of it (docs/scale-out.md, "TCP fan-out"). When the process runs out of
 * file descriptors (EMFILE/ENFILE), libuv closes the pending connections: each such event is
 * counted in clientsRefused, said once in one line (`log`), and the clients already connected
 * are served on. (Node itself raises RLIMIT_NOFILE's soft limit to the hard one at start.)
 *
 * Chunks sent in the same turn of the event loop are written to each client as one buffer
 * (flushed by setImmediate, or at once past BATCH_MAX_BYTES; not when paced by the fastest
 * client). The cost of a fan-out is per write, not per byte: a paced sender that falls behind
 * with thousands of clients emits its overdue chunks together, and writes them together.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { RuntimeError, describeSystemError } from '../../shared/errors.js';
import type { TcpEndpoint } from '../../shared/url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';

export const DEFAULT_MAX_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SOFT_CLIENT_BUFFER_BYTES = 256 * 1024;
export const DEFAULT_STALL_MS = 2000;
/** listen(2) backlog asked for; the kernel truncates it to net.core.somaxconn (4096 by default since Linux 5.4). */
export const DEFAULT_LISTEN_BACKLOG = 65535;
/** A batch of chunks is written out at once when it reaches this size. */
export const BATCH_MAX_BYTES = 64 * 1024;
/** How long close() waits for clients to take the end of stream before destroying them. */
const CLOSE_GRACE_MS = 2000;

export interface TcpServerOptions {
  maxClients?: number;
  maxClientBufferBytes?: number;
  softClientBufferBytes?: number;
  stallMs?: number;
  /** Unpaced stream: hold the sender at the fastest client's pace (see above). */
  paceByFastestClient?: boolean;
  /** The guide chunk a new client gets first; null in raw format or before the first guide. */
  guide?: () => Buffer | null;
  /** Called whenever the number of connected clients changes. */
  onClients?: (count: number) => void;
  /** listen(2) backlog (DEFAULT_LISTEN_BACKLOG). */
  backlog?: number;
  /** One-line notices (out of file descriptors), said once per server. */
  log?: (line: string) => void;
}

export class TcpServerOutput implements Output {
  readonly stats: OutputStats;
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly dropped = new WeakSet<Socket>();
  private closing = false;
  private saidOutOfFds = false;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private batchGuides = 0;
  private flushScheduled = false;
  private waiters: (() => void)[] = [];
  private readonly maxClients: number;
  private readonly maxBuffer: number;
  private readonly softBuffer: number;
  private readonly stallMs: number;

  constructor(
    readonly endpoint: TcpEndpoint,
    private readonly opts: TcpServerOptions = {},
  ) {
    this.stats = newOutputStats(endpoint.url, 'tcp', 'server');
    this.maxClients = opts.maxClients ?? Infinity;
    this.maxBuffer = opts.maxClientBufferBytes ?? DEFAULT_MAX_CLIENT_BUFFER_BYTES;
    this.softBuffer = Math.min(opts.softClientBufferBytes ?? DEFAULT_SOFT_CLIENT_BUFFER_BYTES, this.maxBuffer);
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  }

  /** The address actually listened on (the port is known after open(), also for port 0). */
  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return { host: a?.address ?? this.endpoint.host, port: a?.port ?? this.endpoint.port };
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async open(): Promise<void> {
    const server = createServer({ noDelay: true }, (sock) => this.accept(sock));
    // After listen, errors come from accept(2): the connection is lost, the server serves on.
    server.on('error', (err: NodeJS.ErrnoException) => this.acceptFailed(err));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const backlog = this.opts.backlog ?? DEFAULT_LISTEN_BACKLOG;
        server.listen({ host: this.endpoint.host, port: this.endpoint.port, exclusive: true, backlog }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.close();
      throw new RuntimeError(`${this.endpoint.url}: ${describeSystemError(err)}`, 'ERR_OUTPUT', { cause: err });
    }
    this.server = server;
  }

  /** @internal accept(2) failed: the pending connection is closed, counted as refused. */
  acceptFailed(err: NodeJS.ErrnoException): void {
    if (this.closing) return;
    this.stats.clientsRefused++;
    if ((err.code === 'EMFILE' || err.code === 'ENFILE') && !this.saidOutOfFds) {
      this.saidOutOfFds = true;
      this.opts.log?.(
        `${this.endpoint.url}: out of file descriptors (${err.code}) at ${this.clients.size} clients; serving those, refusing new ones (raise \`ulimit -Hn\`)`,
      );
    }
  }

  private accept(sock: Socket): void {
    if (this.closing || this.clients.size >= this.maxClients) {
      if (!this.closing) this.stats.clientsRefused++;
      sock.destroy();
      return;
    }
    this.clients.add(sock);
    this.stats.clientsAccepted++;
    this.stats.clients = this.clients.size;
    sock.on('data', (d: Buffer) => {
      this.stats.bytesDiscarded += d.length;
    });
    sock.on('error', (err) => {
      if (!this.dropped.has(sock)) countError(this.stats, err);
    });
    sock.on('drain', () => this.wake());
    sock.on('close', () => {
      if (!this.clients.delete(sock)) return;
      if (!this.dropped.has(sock)) this.stats.clientsClosed++;
      this.stats.clients = this.clients.size;
      this.opts.onClients?.(this.clients.size);
      this.wake();
    });
    const guide = this.opts.guide?.();
    if (guide) this.write(sock, guide, true);
    this.opts.onClients?.(this.clients.size);
  }

  private write(sock: Socket, buf: Buffer, guide: boolean, chunks = 1, guides = guide ? 1 : 0): void {
    if (sock.destroyed) return;
    if (sock.writableLength + buf.length > this.maxBuffer) {
      this.drop(sock);
      return;
    }
    sock.write(buf);
    this.stats.chunks += chunks;
    this.stats.bytes += buf.length;
    this.stats.guides += guides;
  }

  private drop(sock: Socket): void {
    if (this.dropped.has(sock)) return;
    this.dropped.add(sock);
    this.stats.clientsDropped++;
    sock.destroy();
  }

  send(buf: Buffer, guide = false): void {
    if (this.clients.size === 0) return;
    if (this.opts.paceByFastestClient) {
      for (const sock of this.clients) this.write(sock, buf, guide);
      return;
    }
    this.batch.push(buf);
    this.batchBytes += buf.length;
    if (guide) this.batchGuides++;
    if (this.batchBytes >= BATCH_MAX_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes the batch to every client, as one buffer. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const chunks = this.batch.length;
    const guides = this.batchGuides;
    const buf = chunks === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    this.batchGuides = 0;
    for (const sock of this.clients) this.write(sock, buf, false, chunks, guides);
  }

  private congested(): boolean {
    if (!this.opts.paceByFastestClient || this.clients.size === 0) return false;
    for (const sock of this.clients) if (sock.writableLength < this.softBuffer) return false;
    return true;
  }

  ready(): Promise<void> | null {
    if (!this.congested()) return null;
    return new Promise((resolve) => {
      const started = Date.now();
      const check = (): void => {
        if (!this.congested()) return resolve();
        if (Date.now() - started >= this.stallMs) {
          // Nobody took anything for stallMs: drop everyone who is holding the stream.
          for (const sock of this.clients) if (sock.writableLength >= this.softBuffer) this.drop(sock);
          return resolve();
        }
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          check();
        }, 50);
        const wake = (): void => {
          clearTimeout(timer);
          check();
        };
        this.waiters.push(wake);
      };
      check();
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async close(final: Buffer[]): Promise<void> {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    const socks = [...this.clients];
    const closed = socks.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r()))));
    for (const sock of socks) {
      for (const b of final) this.write(sock, b, false);
      if (!sock.destroyed) sock.end();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const sock of this.clients) sock.destroy();
    this.wake();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
