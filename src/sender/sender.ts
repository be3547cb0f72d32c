/**
 * The sender: channels (sources.ts) -> one token bucket per channel (token-bucket.ts) ->
 * chunks (header + payload, or bare payload in raw format) -> every output at once.
 *
 *   startSender(opts)  validates, chooses each channel's rate (given, or measured and said
 *                      in one log line), opens every output, starts the guide timer, waits
 *                      for --wait-clients, then runs one pump per channel, interleaved.
 *   guide              channel 0, every guideIntervalMs on every output, and at once to each
 *                      new TCP client (ipcast format only).
 *   end of stream      when a channel's source ends: an end-of-stream chunk for it on every
 *                      output. When all channels have ended, or on stop(): the remaining
 *                      end-of-stream chunks, then every output is closed (TCP connections are
 *                      ended; in raw format that close is the end of stream).
 */
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PAYLOAD_BYTES,
  GUIDE_CHANNEL,
  HEADER_BYTES,
  Kind,
  MAX_DATAGRAM_PAYLOAD_BYTES,
  encodeChunk,
  writeHeader,
  type ChunkHeader,
} from '../shared/protocol.js';
import { loadNative } from '../shared/native.js';
import { encodeGuide, type ChannelInfo } from '../shared/guide.js';
import { RuntimeError, UsageError } from '../shared/errors.js';
import type { Endpoint } from '../shared/url.js';
import { formatRate } from './bitrate.js';
import type { Output } from './outputs/output.js';
import { TcpServerOutput } from './outputs/tcp-server.js';
import { UdpOutput } from './outputs/udp.js';
import { openSenderHttp, type HttpOutput } from '../http/http-output.js';
import type { HttpStreamServer } from '../http/stream-server.js';
import { RtpOutput } from '../rtp/rtp-output.js';
import type { ChannelSource } from './sources.js';
import type { ChannelStats, SenderStats } from './stats.js';
import { TokenBucket, defaultBurstBytes } from './token-bucket.js';
import { SdpFile } from '../rtp/sdp.js';

export type Format = 'ipcast' | 'raw';

export interface SenderOptions {
  /** From resolveSource(); ids must be distinct, 1..65535. */
  channels: ChannelSource[];
  /** From parseEndpoint(..., 'send'); a TCP endpoint may use port 0 (see tcpAddresses()). */
  outputs: Endpoint[];
  /** Bits per second for every channel; Infinity = unpaced; undefined = measure each channel. */
  rate?: number;
  /** Payload bytes per chunk (default 1316). */
  chunkBytes?: number;
  /** Token bucket depth in bytes (default: 50 ms of stream, at least two chunks). */
  burstBytes?: number;
  format?: Format;
  /** Replay finite sources forever. */
  loop?: boolean;
  /** Hold the stream until this many TCP clients (over all TCP outputs) are connected. */
  waitClients?: number;
  /** TCP clients served at once, per TCP output. */
  maxClients?: number;
  /** Per-client bound on queued bytes before the client is dropped (default 4 MiB). */
  tcpClientBufferBytes?: number;
  /** Default 1000. */
  guideIntervalMs?: number;
  /** --http: serve /channel/N, /playlist.m3u, /guide.json (src/http/). */
  http?: { host: string; port: number };
  /** --sdp FILE: the session description of the rtp:// outputs (src/rtp/). */
  sdpFile?: string;
  /** One line at a time, for the operator (the CLI writes them to stderr). */
  log?: (line: string) => void;
}

const STOP = Symbol('stop');
const YIELD_EVERY_MS = 5;

export function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export class Sender {
  readonly stats: SenderStats;
  /** Resolves when the stream has ended and every output is closed; rejects on a runtime failure. */
  readonly done: Promise<void>;
  private readonly outputs: Output[] = [];
  private readonly tcp: TcpServerOutput[] = [];
  private http: HttpOutput | undefined;
  private readonly rates = new Map<number, number>();
  /** Said once the outputs are open, so a failure to open is the only line printed. */
  private readonly rateLines: string[] = [];
  private readonly sequences = new Map<number, number>();
  private readonly eosSent = new Set<number>();
  private guideSeq = 0;
  private lastGuide: Buffer | null = null;
  private guidePayload: Buffer | null = null;
  private guideTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopResolve!: (v: typeof STOP) => void;
  private readonly stopped = new Promise<typeof STOP>((r) => (this.stopResolve = r));
  /** Waits cut short by stop(): see orStop(). */
  private readonly stopWaiters = new Set<(v: typeof STOP) => void>();
  private clientsChanged: (() => void) | null = null;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  private readonly format: Format;
  private readonly chunkBytes: number;

  /** Use startSender(). */
  constructor(private readonly opts: SenderOptions) {
    this.format = opts.format ?? 'ipcast';
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_PAYLOAD_BYTES;
    this.stats = { startedAt: Date.now(), channels: [], outputs: [], guides: 0 };
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // the caller awaits it; never an unhandled rejection meanwhile
    void this.stopped.then(() => {
      for (const w of this.stopWaiters) w(STOP);
      this.stopWaiters.clear();
    });
  }

  /** The TCP outputs' listening addresses (the real port when the URL asked for port 0). */
  tcpAddresses(): { url: string; host: string; port: number }[] {
    return this.tcp.map((t) => ({ url: t.endpoint.url, ...t.address() }));
  }

  /** --http's server: its address (the real port for port 0) and counts. */
  httpServer(): HttpStreamServer | undefined {
    return this.http?.server;
  }

  /** The rate each channel is paced at (bits/s). */
  rateOf(channel: number): number | undefined {
    return this.rates.get(channel);
  }

  /** Ends the stream: end of stream on every output, outputs closed. Resolves with `done`. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopResolve(STOP);
    await this.done.catch(() => {});
  }

  /** @internal startSender's second half. */
  async start(): Promise<void> {
    const o = this.opts;
    validate(o, this.format, this.chunkBytes);
    await this.chooseRates();
    const unpaced = o.channels.some((c) => this.rates.get(c.id) === Infinity);
    this.buildGuide();
    const sdp = o.sdpFile ? new SdpFile(o.sdpFile, o.channels.map((c) => c.name).join(', '), o.log) : undefined;
    try {
      for (const ep of o.outputs) {
        const out =
          ep.proto === 'udp'
            ? ep.rtp
              ? new RtpOutput(ep, { format: this.format, ...(sdp ? { sdp } : {}) })
              : new UdpOutput(ep)
            : new TcpServerOutput(ep, {
                ...(o.maxClients !== undefined ? { maxClients: o.maxClients } : {}),
                ...(o.tcpClientBufferBytes !== undefined ? { maxClientBufferBytes: o.tcpClientBufferBytes } : {}),
                paceByFastestClient: unpaced,
                guide: () => this.lastGuide,
                onClients: () => this.clientsChanged?.(),
                ...(o.log ? { log: o.log } : {}),
              });
        await out.open();
        this.outputs.push(out);
        this.stats.outputs.push(out.stats);
        if (out instanceof TcpServerOutput) this.tcp.push(out);
      }
      if (o.http) {
        this.http = await openSenderHttp(o.http, this.format, o.channels, (id) => this.rates.get(id), () => this.clientsChanged?.(), o.log);
        this.outputs.push(this.http);
        this.stats.outputs.push(this.http.stats);
      }
    } catch (err) {
      await Promise.all(this.outputs.map((out) => out.close([])));
      throw err;
    }
    for (const line of this.rateLines) this.opts.log?.(line);
    this.sendGuide();
    if (this.format === 'ipcast') {
      this.guideTimer = setInterval(() => this.sendGuide(), o.guideIntervalMs ?? 1000);
    }
    void this.run().then(this.resolveDone, this.rejectDone);
  }

  private async chooseRates(): Promise<void> {
    for (const ch of this.opts.channels) {
      let rate = this.opts.rate;
      if (rate === undefined) {
        const m = await ch.measure();
        if (!m) {
          throw new UsageError(
            `cannot tell the bitrate of channel ${ch.id} '${ch.name}' (not WAV, MP3 or MPEG-TS with PCR): give --rate, for example --rate 320k or --rate max`,
            'ERR_NO_RATE',
          );
        }
        rate = m.bitsPerSecond;
        this.rateLines.push(`channel ${ch.id} '${ch.name}': rate ${formatRate(rate)} (measured from the ${m.how})`);
      }
      this.rates.set(ch.id, rate);
      const s: ChannelStats = { id: ch.id, name: ch.name, rateBitsPerSecond: rate, chunks: 0, bytes: 0, loops: 0, ended: false };
      this.stats.channels.push(s);
      this.sequences.set(ch.id, 0);
    }
  }

  private buildGuide(): void {
    if (this.format !== 'ipcast') return;
    const infos: ChannelInfo[] = this.opts.channels.map((c) => {
      const r = this.rates.get(c.id)!;
      return { id: c.id, name: c.name, description: c.description, bitrate: r === Infinity ? 0 : r };
    });
    this.guidePayload = encodeGuide(infos);
    if (this.guidePayload.length > MAX_DATAGRAM_PAYLOAD_BYTES && this.opts.outputs.some((e) => e.proto === 'udp')) {
      throw new UsageError(
        `the guide of ${infos.length} channels (${this.guidePayload.length} bytes) does not fit one datagram; use fewer channels or shorter descriptions`,
        'ERR_GUIDE_TOO_LARGE',
      );
    }
  }

  private sendGuide(): void {
    if (!this.guidePayload || this.stopping) return;
    this.lastGuide = encodeChunk(
      { kind: Kind.Guide, channel: GUIDE_CHANNEL, sequence: this.guideSeq++, timestampUs: nowUs() },
      this.guidePayload,
    );
    for (const out of this.outputs) out.send(this.lastGuide, true);
    this.stats.guides++;
  }

  private async run(): Promise<void> {
    let failure: unknown;
    try {
      await this.waitForClients();
      if (!this.stopping) {
        const pumps = this.opts.channels.map((ch, i) =>
          this.pump(ch, this.stats.channels[i]!).catch((err: unknown) => {
            failure ??= err;
            this.stopping = true;
            this.stopResolve(STOP);
          }),
        );
        await Promise.all(pumps);
      }
    } catch (err) {
      failure ??= err;
    }
    clearInterval(this.guideTimer);
    this.stopping = true;
    this.stopResolve(STOP);
    const final = this.opts.channels.filter((c) => !this.eosSent.has(c.id)).map((c) => this.eos(c.id));
    for (const s of this.stats.channels) s.ended = true;
    await Promise.all(this.outputs.map((out) => out.close(this.format === 'ipcast' ? final : [])));
    if (failure !== undefined) {
      throw failure instanceof Error && 'exitCode' in failure ? failure : new RuntimeError(String((failure as Error)?.message ?? failure));
    }
  }

  private async waitForClients(): Promise<void> {
    const want = this.opts.waitClients ?? 0;
    if (want <= 0) return;
    const count = (): number => this.tcp.reduce((n, t) => n + t.clientCount, 0) + (this.http?.clientCount ?? 0);
    const where = [...this.tcpAddresses(), ...(this.http ? [this.http.server.address()] : [])];
    this.opts.log?.(`waiting for ${want} receiver${want === 1 ? '' : 's'} on ${where.map((a) => `${a.host}:${a.port}`).join(', ')}`);
    while (!this.stopping && count() < want) {
      await Promise.race([this.stopped, new Promise<void>((r) => (this.clientsChanged = r))]);
    }
    this.clientsChanged = null;
  }

  private eos(channel: number): Buffer {
    this.eosSent.add(channel);
    const seq = this.sequences.get(channel) ?? 0;
    this.sequences.set(channel, seq + 1);
    return encodeChunk({ kind: Kind.EndOfStream, channel, sequence: seq, timestampUs: nowUs() });
  }

  private sleep(ms: number): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    return this.orStop(new Promise((r) => (timer = setTimeout(r, ms)))).finally(() => clearTimeout(timer));
  }

  /**
   * `p`, or STOP as soon as stop() is called. Not Promise.race(p, this.stopped): every race
   * leaves a reaction on the long-lived `stopped` that holds the race's result (a chunk, and
   * the 256 KiB read block under it) until the stream ends: the sender grew ~12 MB/s at 100 Mbit/s.
   */
  private orStop<T>(p: Promise<T>): Promise<T | typeof STOP> {
    if (this.stopping) return Promise.resolve(STOP);
    return new Promise<T | typeof STOP>((resolve, reject) => {
      this.stopWaiters.add(resolve);
      p.then(
        (v) => {
          this.stopWaiters.delete(resolve);
          resolve(v);
        },
        (err: unknown) => {
          this.stopWaiters.delete(resolve);
          reject(err);
        },
      );
    });
  }

  private async pump(ch: ChannelSource, s: ChannelStats): Promise<void> {
    const rate = this.rates.get(ch.id)!;
    const bucket = new TokenBucket(
      rate,
      this.opts.burstBytes ?? defaultBurstBytes(rate, this.chunkBytes + (this.format === 'ipcast' ? HEADER_BYTES : 0)),
    );
    const raw = this.format === 'raw';
    const it = ch.chunks(this.chunkBytes, this.opts.loop ?? false, () => s.loops++)[Symbol.asyncIterator]();
    let finished = false;
    let lastYield = performance.now();
    try {
      while (!this.stopping) {
        // An unpaced stream from a source that never waits (the tone, a cached file) with
        // outputs that never push back would otherwise starve the event loop: no timers,
        // no new TCP clients, no signals. Give it a turn every few milliseconds.
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          lastYield = performance.now();
        }
        const r = await this.orStop(it.next());
        if (r === STOP) break;
        if (r.done) {
          finished = true;
          break;
        }
        const payload = r.value;
        const wait = bucket.reserve(payload.length);
        if (wait > 0) {
          if ((await this.sleep(wait)) === STOP) break;
          lastYield = performance.now();
        }
        for (const out of this.outputs) {
          const p = out.ready();
          if (p && (await this.orStop(p)) === STOP) break;
        }
        if (this.stopping) break;
        let buf = payload;
        if (!raw) {
          const seq = this.sequences.get(ch.id)!;
          this.sequences.set(ch.id, (seq + 1) >>> 0);
          buf = encodeData({ kind: Kind.Data, channel: ch.id, sequence: seq, timestampUs: nowUs() }, payload);
        }
        for (const out of this.outputs) out.send(buf);
        s.chunks++;
        s.bytes += payload.length;
      }
    } finally {
      // Do not wait: a source blocked in a read (stdin) would hold the shutdown.
      if (!finished) void it.return?.(undefined)?.catch(() => {});
    }
    if (finished) {
      s.ended = true;
      if (!raw && !this.stopping) {
        const eos = this.eos(ch.id);
        for (const out of this.outputs) out.send(eos);
      }
    }
  }
}

const EMPTY = new Uint8Array(0);
/** Header offsets of the payload length and the checksum (docs/protocol.md). */
const LENGTH_AT = 8;
const CHECKSUM_AT = 28;
let nativeCrc: ((buf: Uint8Array) => number) | null | undefined;

/**
 * encodeChunk() for data chunks, with the checksum from the addon's CRC-32C (SSE4.2 when the
 * CPU has it): the TypeScript tables take ~2 µs per 1316-byte chunk, a fifth of what a datagram
 * may cost at 1 Gbit/s. writeHeader lays the header out (over no payload: no table work), then
 * the length is set and the CRC of header (checksum zero) + payload written. Same bytes.
 */
export function encodeData(h: ChunkHeader, payload: Uint8Array): Buffer {
  if (nativeCrc === undefined) {
    try {
      nativeCrc = loadNative().crc32c;
    } catch {
      nativeCrc = null;
    }
  }
  if (nativeCrc === null) return encodeChunk(h, payload);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.set(payload, HEADER_BYTES);
  writeHeader(h, EMPTY, out, 0);
  out.writeUInt32BE(payload.length, LENGTH_AT);
  out.writeUInt32BE(0, CHECKSUM_AT);
  out.writeUInt32BE(nativeCrc(out), CHECKSUM_AT);
  return out;
}

function validate(o: SenderOptions, format: Format, chunkBytes: number): void {
  if (o.channels.length === 0) throw new UsageError('no channels to send', 'ERR_USAGE');
  if (o.outputs.length === 0 && !o.http) throw new UsageError('no outputs: give at least one --to URL or --http', 'ERR_USAGE');
  const ids = new Set<number>();
  for (const c of o.channels) {
    if (!Number.isInteger(c.id) || c.id < 1 || c.id > 65535) throw new UsageError(`channel id must be 1..65535, got ${c.id}`, 'ERR_USAGE');
    if (ids.has(c.id)) throw new UsageError(`channel ${c.id} given twice`, 'ERR_USAGE');
    ids.add(c.id);
  }
  if (format === 'raw' && o.channels.length > 1) {
    throw new UsageError(`--format raw carries one channel; this source has ${o.channels.length}`, 'ERR_USAGE');
  }
  if (o.rate !== undefined && !(o.rate > 0)) throw new UsageError(`--rate must be above zero, got ${o.rate}`, 'ERR_BAD_RATE');
  const frameMax = DEFAULT_MAX_FRAME_BYTES - HEADER_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > frameMax) {
    throw new UsageError(`--chunk must be 1..${frameMax}, got ${chunkBytes}`, 'ERR_BAD_NUMBER');
  }
  // A raw payload fills the datagram alone, unless an RTP header (12 bytes) goes in front of it.
  const rtpHeader = o.outputs.some((e) => e.proto === 'udp' && e.rtp) ? 12 : 0;
  const udpMax = format === 'raw' ? MAX_DATAGRAM_PAYLOAD_BYTES + HEADER_BYTES - rtpHeader : MAX_DATAGRAM_PAYLOAD_BYTES;
  if (chunkBytes > udpMax && o.outputs.some((e) => e.proto === 'udp')) {
    throw new UsageError(`--chunk ${chunkBytes} does not fit one UDP datagram: at most ${udpMax} bytes of payload`, 'ERR_BAD_NUMBER');
  }
  const tcpCount = o.outputs.filter((e) => e.proto === 'tcp').length;
  if ((o.waitClients ?? 0) > 0 && tcpCount === 0 && !o.http) throw new UsageError('--wait-clients needs a tcp:// output or --http', 'ERR_USAGE');
  if (o.sdpFile !== undefined && !o.outputs.some((e) => e.proto === 'udp' && e.rtp)) throw new UsageError('--sdp needs an rtp:// output', 'ERR_USAGE');
  if (o.maxClients !== undefined && tcpCount === 0) throw new UsageError('--max-clients needs a tcp:// output', 'ERR_USAGE');
  if (o.maxClients !== undefined && o.waitClients !== undefined && o.waitClients > o.maxClients * tcpCount) {
    throw new UsageError(`--wait-clients ${o.waitClients} can never be reached with --max-clients ${o.maxClients}`, 'ERR_USAGE');
  }
}

/** Validates, measures, opens every output and starts streaming. Await `sender.done`. */
export async function startSender(opts: SenderOptions): Promise<Sender> {
  const sender = new Sender(opts);
  await sender.start();
  return sender;
}
