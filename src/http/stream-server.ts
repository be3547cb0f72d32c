/**
 * The HTTP output of send, relay and recv (`--http [HOST:]PORT`): what a player (VLC, mpv,
 * ffplay, a TV box) opens by URL.
 *
 *   GET /channel/N        the channel's bare payload, as it goes out, until its end of stream
 *   GET /udp/GROUP:PORT   (when the owner gives a `udp` opener: recv, relay) the datagrams of a
 *                         group, udpxy's way: joined on the first client, left after the last
 *   GET /playlist.m3u     #EXTM3U, one #EXTINF + absolute URL per channel of the guide
 *   GET /guide.json       the guide as JSON
 * HEAD is answered as GET without a body. Other methods: 405; other paths: 404; a request head
 * over the limits of request.ts: 431, before anything of it is kept. Every response closes the
 * connection. A stream's body has no length: an HTTP/1.1 client gets it in chunked transfer
 * encoding, so its end is told apart from a cut (ffmpeg reports a close-delimited body as
 * "Stream ends prematurely"); an HTTP/1.0 client gets the bytes as they are, up to the close.
 *
 * Content-Type comes from the stream's first payload (content-type.ts); a client that asks
 * before it is known gets its response head with the first payload. A WAV stream's header is
 * kept and sent first to a client that joins later, so its player knows the format.
 *
 * Slow-client policy, the TCP output's (src/sender/outputs/tcp-server.ts): a client whose
 * queued bytes would pass maxClientBufferBytes (4 MiB) is dropped and counted; it never slows
 * the stream or the other clients. Payloads published in one turn of the event loop are written
 * to each client as one buffer.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { RuntimeError, describeSystemError } from '../shared/errors.js';
import type { ChannelInfo } from '../shared/guide.js';
import { sniffMediaType, wavHeader, type MediaType } from './content-type.js';
import { baseUrl, guideJson, playlist } from './playlist.js';
import { RequestReader, type HttpRequest } from './request.js';

export const DEFAULT_HTTP_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;
/** A client that has not sent a whole request head by then is closed. */
export const REQUEST_TIMEOUT_MS = 10_000;
const BATCH_MAX_BYTES = 64 * 1024;
/** How long close() lets clients take what is queued for them before they are cut (as TCP's). */
const CLOSE_GRACE_MS = 2000;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

function sniff(payload: Buffer): { type: MediaType; prefix?: Buffer } {
  const type = sniffMediaType(payload);
  const prefix = type === 'audio/wav' ? wavHeader(payload) : null;
  return prefix ? { type, prefix } : { type };
}

/** One chunk of chunked transfer encoding (RFC 9112 7.1): hex size, CRLF, data, CRLF. */
function frame(buf: Buffer): Buffer {
  const size = Buffer.from(`${buf.length.toString(16)}\r\n`);
  return Buffer.concat([size, buf, CRLF], size.length + buf.length + 2);
}
const CRLF = Buffer.from('\r\n');

export interface HttpStats {
  url: string;
  /** Stream clients connected now (/channel/, /udp/). */
  clients: number;
  clientsAccepted: number;
  /** Dropped for falling behind. */
  clientsDropped: number;
  /** Refused: over maxClients. */
  clientsRefused: number;
  /** Went away by themselves. */
  clientsClosed: number;
  /** Body bytes written to stream clients. */
  bytes: number;
  /** Payloads (one chunk's, or one /udp/ datagram's) written to stream clients, once per client. */
  chunks: number;
  /** Responses by status code. */
  responses: Record<string, number>;
}

/** A joined group for /udp/: publish its datagrams with the given callback; close() leaves. */
export interface UdpFeedHandle {
  close(): Promise<void>;
}
export type UdpOpener = (group: string, port: number, query: URLSearchParams, publish: (payload: Buffer) => void) => Promise<UdpFeedHandle>;

export interface HttpServerOptions {
  host: string;
  port: number;
  /** The channel list (playlist, guide, and which /channel/N exist). */
  channels(): ChannelInfo[];
  /** Any channel number is served (recv, relay: a channel may start later); else only the guide's. */
  anyChannel?: boolean;
  udp?: UdpOpener;
  maxClients?: number;
  maxClientBufferBytes?: number;
  onClients?: (count: number) => void;
  log?: (line: string) => void;
}

interface Client {
  sock: Socket;
  headSent: boolean;
  head: boolean; // HEAD request: no body
  chunked: boolean; // HTTP/1.1: chunked transfer encoding
}

interface Feed {
  key: string;
  clients: Set<Client>;
  type?: MediaType;
  prefix?: Buffer;
  batch: Buffer[];
  batchBytes: number;
  scheduled: boolean;
  udp?: Promise<UdpFeedHandle | null>;
}

export class HttpStreamServer {
  readonly stats: HttpStats;
  private server: Server | null = null;
  private readonly feeds = new Map<string, Feed>();
  /** What each channel carries, from its first payload, whether or not a client was there. */
  private readonly kinds = new Map<string, { type: MediaType; prefix?: Buffer }>();
  private readonly sockets = new Set<Socket>();
  private readonly dropped = new WeakSet<Socket>();
  private streamClients = 0;
  private closing = false;
  private readonly maxBuffer: number;

  constructor(private readonly o: HttpServerOptions) {
    this.stats = { url: '', clients: 0, clientsAccepted: 0, clientsDropped: 0, clientsRefused: 0, clientsClosed: 0, bytes: 0, chunks: 0, responses: {} };
    this.maxBuffer = o.maxClientBufferBytes ?? DEFAULT_HTTP_CLIENT_BUFFER_BYTES;
  }

  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return { host: a?.address ?? this.o.host, port: a?.port ?? this.o.port };
  }

  get clientCount(): number {
    return this.streamClients;
  }

  async open(): Promise<void> {
    const server = createServer({ noDelay: true }, (sock) => this.accept(sock));
    server.on('error', () => (this.stats.clientsRefused++));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.o.host, port: this.o.port, exclusive: true, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.close();
      throw new RuntimeError(`--http ${this.o.host}:${this.o.port}: ${describeSystemError(err)}`, 'ERR_HTTP_LISTEN', { cause: err });
    }
    this.server = server;
    const a = this.address();
    this.stats.url = `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/`;
  }

  /** One payload of channel N (bare, as a player takes it). */
  publish(channel: number, payload: Buffer): void {
    const key = `/channel/${channel}`;
    if (!this.kinds.has(key)) this.kinds.set(key, sniff(payload));
    const feed = this.feeds.get(key);
    if (feed) this.publishTo(feed, payload);
  }

  /** Channel N's end of stream: its clients get the rest and the close. */
  endChannel(channel: number): void {
    this.kinds.delete(`/channel/${channel}`); // its next stream is sniffed afresh
    const feed = this.feeds.get(`/channel/${channel}`);
    if (feed) this.endFeed(feed);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const feed of [...this.feeds.values()]) this.endFeed(feed);
    const socks = [...this.sockets];
    const closed = socks.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r()))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(sock: Socket): void {
    if (this.closing) return void sock.destroy();
    this.sockets.add(sock);
    const reader = new RequestReader();
    let answered = false;
    const timer = setTimeout(() => sock.destroy(), REQUEST_TIMEOUT_MS);
    sock.on('data', (d: Buffer) => {
      if (answered) return; // a player sends nothing more; whatever comes is read and dropped
      const r = reader.push(d);
      if (r.state === 'more') return;
      answered = true;
      clearTimeout(timer);
      if (r.state === 'error') return this.respond(sock, r.status, 'text/plain', `${r.why}\n`);
      this.route(sock, r.request);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(sock);
    });
  }

  private route(sock: Socket, req: HttpRequest): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.respond(sock, 405, 'text/plain', 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
    }
    const head = req.method === 'HEAD';
    const base = baseUrl(req.headers.get('host'), this.address());
    if (req.path === '/playlist.m3u') return this.respond(sock, 200, 'audio/x-mpegurl', playlist(this.o.channels(), base), {}, head);
    if (req.path === '/guide.json') return this.respond(sock, 200, 'application/json', guideJson(this.o.channels(), base), {}, head);
    const ch = /^\/channel\/(\d{1,5})$/.exec(req.path);
    if (ch) {
      const id = Number(ch[1]);
      const known = this.o.channels().some((c) => c.id === id);
      if (id < 1 || id > 65535 || (!known && !this.o.anyChannel)) return this.respond(sock, 404, 'text/plain', `no channel ${ch[1]}\n`);
      return this.subscribe(sock, `/channel/${id}`, head, req.minor === 1);
    }
    const udp = /^\/udp\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(req.path);
    if (udp && this.o.udp) {
      return this.subscribeUdp(sock, udp[1]!, Number(udp[2]), new URLSearchParams(req.query), head, req.minor === 1);
    }
    this.respond(sock, 404, 'text/plain', `no such path: ${req.path.slice(0, 200)}\n`);
  }

  private subscribeUdp(sock: Socket, group: string, port: number, query: URLSearchParams, head: boolean, chunked: boolean): void {
    const key = `/udp/${group}:${port}`;
    const existing = this.feeds.get(key);
    if (existing) return this.subscribe(sock, key, head, chunked);
    const feed = this.feed(key);
    feed.udp = this.o.udp!(group, port, query, (payload) => this.publishTo(feed, payload)).catch((err: Error) => {
      this.feeds.delete(key);
      this.o.log?.(`http ${key}: ${err.message}`);
      for (const c of feed.clients) this.respond(c.sock, 404, 'text/plain', `${err.message}\n`);
      this.setClients(this.streamClients - feed.clients.size);
      feed.clients.clear();
      return null;
    });
    this.subscribe(sock, key, head, chunked);
  }

  private feed(key: string): Feed {
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = { key, clients: new Set(), batch: [], batchBytes: 0, scheduled: false, ...this.kinds.get(key) };
      this.feeds.set(key, feed);
    }
    return feed;
  }

  private subscribe(sock: Socket, key: string, head: boolean, chunked: boolean): void {
    if (this.o.maxClients !== undefined && this.streamClients >= this.o.maxClients) {
      this.stats.clientsRefused++;
      return this.respond(sock, 503, 'text/plain', 'too many clients\n');
    }
    const feed = this.feed(key);
    const client: Client = { sock, headSent: false, head, chunked: chunked && !head };
    if (feed.type !== undefined) this.sendHead(feed, client);
    if (head && client.headSent) return void sock.end();
    feed.clients.add(client);
    this.stats.clientsAccepted++;
    this.setClients(this.streamClients + 1);
    sock.on('close', () => {
      if (!feed.clients.delete(client)) return;
      if (!this.dropped.has(sock)) this.stats.clientsClosed++;
      this.setClients(this.streamClients - 1);
      if (feed.clients.size === 0 && feed.udp) this.leaveUdp(feed);
    });
  }

  private setClients(n: number): void {
    this.streamClients = n;
    this.stats.clients = n;
    this.o.onClients?.(n);
  }

  private sendHead(feed: Feed, client: Client): void {
    client.headSent = true;
    this.count(200);
    const te = client.chunked ? 'Transfer-Encoding: chunked\r\n' : '';
    const head = `HTTP/1.1 200 OK\r\nContent-Type: ${feed.type}\r\n${te}Cache-Control: no-cache\r\nConnection: close\r\nServer: ipcast\r\n\r\n`;
    client.sock.write(head);
    if (!client.head && feed.prefix) this.write(client, feed.prefix, client.chunked ? frame(feed.prefix) : feed.prefix);
  }

  private publishTo(feed: Feed, payload: Buffer): void {
    if (feed.type === undefined) {
      Object.assign(feed, this.kinds.get(feed.key) ?? sniff(payload));
      for (const c of [...feed.clients]) {
        this.sendHead(feed, c);
        if (c.head) c.sock.end();
      }
    }
    if (feed.clients.size === 0) return;
    feed.batch.push(payload);
    feed.batchBytes += payload.length;
    if (feed.batchBytes >= BATCH_MAX_BYTES) this.flush(feed);
    else if (!feed.scheduled) {
      feed.scheduled = true;
      setImmediate(() => this.flush(feed));
    }
  }

  private flush(feed: Feed): void {
    feed.scheduled = false;
    if (feed.batch.length === 0) return;
    const buf = feed.batch.length === 1 ? feed.batch[0]! : Buffer.concat(feed.batch, feed.batchBytes);
    const chunks = feed.batch.length;
    feed.batch = [];
    feed.batchBytes = 0;
    let framed: Buffer | undefined; // one chunked framing for every HTTP/1.1 client
    for (const c of feed.clients) if (!c.head) this.write(c, buf, c.chunked ? (framed ??= frame(buf)) : buf, chunks);
  }

  /** `wire`: `buf` as this client gets it (framed when chunked); `buf.length` and the `chunks`
   *  it holds are what is counted. */
  private write(client: Client, buf: Buffer, wire: Buffer, chunks = 0): void {
    const sock = client.sock;
    if (sock.destroyed || this.dropped.has(sock)) return;
    if (sock.writableLength + wire.length > this.maxBuffer) {
      this.dropped.add(sock);
      this.stats.clientsDropped++;
      sock.destroy();
      return;
    }
    sock.write(wire);
    this.stats.bytes += buf.length;
    this.stats.chunks += chunks;
  }

  private endFeed(feed: Feed): void {
    this.flush(feed);
    for (const c of feed.clients) {
      if (!c.headSent) {
        feed.type ??= 'application/octet-stream';
        this.sendHead(feed, c);
      }
      if (c.chunked) c.sock.end(LAST_CHUNK);
      else c.sock.end();
    }
    // The channel may start again (recv, relay): its next stream is sniffed afresh.
    this.feeds.delete(feed.key);
    if (feed.udp) this.leaveUdp(feed);
  }

  private leaveUdp(feed: Feed): void {
    const p = feed.udp;
    feed.udp = undefined;
    if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key);
    void p?.then((h) => h?.close()).catch(() => {});
  }

  private count(status: number): void {
    this.stats.responses[status] = (this.stats.responses[status] ?? 0) + 1;
  }

  private respond(sock: Socket, status: number, type: string, body: string, extra: Record<string, string> = {}, head = false): void {
    this.count(status);
    const text = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable', 505: 'HTTP Version Not Supported' }[status] ?? '';
    const b = Buffer.from(body);
    const lines = [`HTTP/1.1 ${status} ${text}`, `Content-Type: ${type}`, `Content-Length: ${b.length}`, 'Connection: close', 'Server: ipcast'];
    for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
    sock.end(head ? `${lines.join('\r\n')}\r\n\r\n` : Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), b]));
  }
}
