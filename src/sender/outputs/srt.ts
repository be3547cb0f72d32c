/**
 * An SRT output (libsrt, native/repair/srt_binding.cc): one chunk = one SRT message (live
 * mode, one UDP packet), repaired by libsrt within the latency budget.
 *
 * - listener (srt://@:PORT): serves many callers; a new caller gets the latest guide at once
 *   (ipcast format). Slow-client policy as TCP's: a caller whose send buffer is full (libsrt
 *   refuses the message) is dropped, counted in clientsDropped; it never slows the others.
 * - caller / rendezvous: open() waits for the connection (a failure is one line, exit 1);
 *   a connection lost later is re-made with backoff while the stream goes on.
 * - close(): the end-of-stream chunks, then up to latency + 1 s for libsrt to deliver (and
 *   repair) what is still in its send buffer, then every connection closed.
 */
import { RuntimeError } from '../../shared/errors.js';
import { applySrtStats, newLinkStats, type LinkStats } from '../../shared/link-stats.js';
import type { NativeSrtLink, NativeSrtOptions } from '../../shared/native.js';
import { loadRepairLibrary } from '../../shared/repair-libs.js';
import type { SrtEndpoint } from '../../shared/url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';

export interface SrtOutputOptions {
  /** The largest message the stream sends (a chunk with its header, or the guide). */
  maxMessageBytes: number;
  guide?: () => Buffer | null;
  onClients?: () => void;
  log?: (line: string) => void;
  /** Where the links' statistics are listed (the sender's stats.links). */
  links: LinkStats[];
  /** What the chunks are (default ipcast): RIST primes a new flow accordingly (rist.ts). */
  format?: 'ipcast' | 'raw';
}

const STATS_EVERY_MS = 1000;
const BACKOFF_START_MS = 200;
const BACKOFF_MAX_MS = 5000;
const E_ASYNCSND = 6001;

export function srtNativeOptions(ep: SrtEndpoint, payloadSize?: number): NativeSrtOptions {
  return {
    mode: ep.mode,
    host: ep.host,
    port: ep.port,
    family: ep.family,
    ...(ep.localPort !== undefined ? { localPort: ep.localPort } : {}),
    ...(ep.latencyMs !== undefined ? { latency: ep.latencyMs } : {}),
    ...(payloadSize !== undefined ? { payloadSize } : {}),
    ...(ep.packetFilter !== undefined ? { packetFilter: ep.packetFilter } : {}),
    ...(ep.passphrase !== undefined ? { passphrase: ep.passphrase } : {}),
    ...(ep.pbkeylen !== undefined ? { pbkeylen: ep.pbkeylen } : {}),
    ...(ep.streamId !== undefined ? { streamId: ep.streamId } : {}),
    ...(ep.connectTimeoutMs !== undefined ? { connectTimeoutMs: ep.connectTimeoutMs } : {}),
  };
}

interface Conn {
  id: number;
  link: LinkStats;
}

export class SrtOutput implements Output {
  readonly stats: OutputStats;
  private link: NativeSrtLink | undefined;
  private readonly conns = new Map<number, Conn>();
  private statsTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff = BACKOFF_START_MS;
  private closing = false;
  private firstConnect: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    readonly endpoint: SrtEndpoint,
    private readonly o: SrtOutputOptions,
  ) {
    this.stats = newOutputStats(endpoint.url, 'srt', endpoint.mode);
  }

  get clientCount(): number {
    return this.conns.size;
  }

  /** The listener's port (the real one when the URL asked for port 0). */
  get port(): number | undefined {
    return this.link?.port;
  }

  async open(): Promise<void> {
    loadRepairLibrary('srt');
    if (this.endpoint.mode === 'listener') {
      this.link = this.start();
    } else {
      await new Promise<void>((resolve, reject) => {
        this.firstConnect = { resolve, reject };
        this.link = this.start();
      });
    }
    this.statsTimer = setInterval(() => this.refreshStats(), STATS_EVERY_MS);
    this.statsTimer.unref();
  }

  private start(): NativeSrtLink {
    const { native } = loadRepairLibrary('srt');
    const ep = this.endpoint;
    try {
      return new native.SrtLink(srtNativeOptions(ep, Math.max(1316, this.o.maxMessageBytes)), (type, id, _data, extra) => {
        if (type === 'connected') this.onConnected(id, String(extra));
        else if (type === 'closed') this.onClosed(id, String(extra));
        else if (type === 'error') this.onConnectError(String(extra));
      });
    } catch (err) {
      throw new RuntimeError(`srt ${ep.url}: ${(err as Error).message}`, 'ERR_SRT');
    }
  }

  private onConnected(id: number, peer: string): void {
    const link = newLinkStats('srt', this.endpoint.url, peer, 'send');
    this.conns.set(id, { id, link });
    this.o.links.push(link);
    this.backoff = BACKOFF_START_MS;
    this.stats.clients = this.conns.size;
    this.stats.clientsAccepted++;
    const guide = this.o.guide?.();
    if (guide) this.sendTo(id, guide, true);
    if (this.firstConnect) {
      this.firstConnect.resolve();
      this.firstConnect = undefined;
    } else if (this.endpoint.mode !== 'listener') this.o.log?.(`srt ${this.endpoint.url}: connected again`);
    this.o.onClients?.();
  }

  private onConnectError(why: string): void {
    if (this.firstConnect) {
      this.firstConnect.reject(new RuntimeError(`srt ${this.endpoint.url}: cannot connect: ${why}`, 'ERR_SRT_CONNECT'));
      this.firstConnect = undefined;
      void this.link?.stop();
      return;
    }
    this.scheduleReconnect();
  }

  private onClosed(id: number, why: string): void {
    this.forget(id);
    this.stats.clientsClosed++;
    if (this.endpoint.mode !== 'listener' && !this.closing) {
      this.o.log?.(`srt ${this.endpoint.url}: ${why}; reconnecting`);
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.closing || this.retryTimer) return;
    const old = this.link;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closing) return;
      void old?.stop();
      try {
        this.link = this.start();
      } catch (err) {
        this.o.log?.((err as Error).message);
        this.scheduleReconnect();
      }
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
  }

  private forget(id: number): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.refreshOne(c);
    c.link.up = false;
    this.conns.delete(id);
    const i = this.o.links.indexOf(c.link);
    if (i >= 0) this.o.links.splice(i, 1);
    this.stats.clients = this.conns.size;
    this.o.onClients?.();
  }

  send(buf: Buffer, guide = false): void {
    for (const id of [...this.conns.keys()]) this.sendTo(id, buf, guide);
  }

  private sendTo(id: number, buf: Buffer, guide: boolean): void {
    const r = this.link!.send(id, [buf]);
    if (r === 1) {
      this.stats.chunks++;
      this.stats.bytes += buf.length;
      if (guide) this.stats.guides++;
      return;
    }
    if (-r === E_ASYNCSND) {
      // Its send buffer is full: this caller cannot keep up (the TCP output's policy).
      this.stats.clientsDropped++;
      this.o.log?.(`srt ${this.endpoint.url}: dropped ${this.conns.get(id)?.link.peer ?? id}: it fell behind (send buffer full)`);
    } else {
      countError(this.stats, { code: `SRT_${-r}` });
    }
    this.link!.closeConnection(id);
    this.forget(id);
    if (this.endpoint.mode !== 'listener') this.scheduleReconnect();
  }

  ready(): null {
    return null;
  }

  private refreshOne(c: Conn): void {
    const s = this.link?.stats(c.id);
    if (s) applySrtStats(c.link, s);
  }

  private refreshStats(): void {
    for (const c of this.conns.values()) this.refreshOne(c);
  }

  async close(final: Buffer[]): Promise<void> {
    for (const f of final) this.send(f);
    this.closing = true;
    clearTimeout(this.retryTimer);
    // Live mode drops what is unsent at srt_close: give libsrt time to deliver (and repair) it.
    const deadline = Date.now() + (this.endpoint.latencyMs ?? 120) + 1000;
    while (Date.now() < deadline && [...this.conns.keys()].some((id) => (this.link?.stats(id)?.pktSndBuf ?? 0) > 0)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(this.statsTimer);
    this.refreshStats();
    for (const id of [...this.conns.keys()]) this.forget(id);
    await this.link?.stop();
  }
}
