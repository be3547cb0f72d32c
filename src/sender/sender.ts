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
import { DEFAULT_PAYLOAD_BYTES, GUIDE_CHANNEL, HEADER_BYTES, Kind, encodeChunk } from '../shared/protocol.js';
import { settings } from '../shared/settings.js';
import { RuntimeError } from '../shared/errors.js';
import type { Endpoint } from '../shared/url.js';
import type { Output } from './outputs/output.js';
import { TcpServerOutput } from './outputs/tcp-server.js';
import { createOutput } from './outputs/create.js';
import type { ChannelSource } from './sources.js';
import type { ChannelStats, SenderStats } from './stats.js';
import { TokenBucket, defaultBurstBytes } from './token-bucket.js';
import { chooseRates, guidePayload } from './rates.js';
import { encodeData } from './encode-data.js';
import { NativePacing } from './native-pacing.js';
import { validateSenderOptions } from './validate.js';
import { openSenderHttp, type HttpOutput } from '../http/http-output.js';
import type { HttpStreamServer } from '../http/stream-server.js';
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
  /** 'ack': stop-and-wait flow control on unicast UDP outputs (src/sender/outputs/udp-ack.ts). */
  flow?: 'ack';
  /** --http: serve /channel/N, /playlist.m3u, /guide.json (src/http/). */
  http?: { host: string; port: number };
  /** --sdp FILE: the session description of the rtp:// outputs (src/rtp/). */
  sdpFile?: string;
  /** One line at a time, for the operator (the CLI writes them to stderr). */
  log?: (line: string) => void;
  /** 'native': when every output is IPv4 UDP the addon's thread paces (native-pacing.ts); 'js': pump(). Default: settings().pacer. */
  pacing?: 'native' | 'js';
  /** Native pacing: runs of equal-size datagrams with UDP segmentation offload. Default: settings().gso. */
  gso?: boolean;
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
  /** Other outputs that count clients (an SRT listener): --wait-clients counts them too. */
  private readonly servers: (Output & { clientCount: number })[] = [];
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
  /** Set when the addon's thread paces every output (native-pacing.ts). */
  private pacing: NativePacing | null = null;

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

  /** 'native' when the addon's thread paces every output (native-pacing.ts), else 'js'. */
  get pacingPath(): 'native' | 'js' {
    return this.pacing ? 'native' : 'js';
  }

  /** Native pacing: per output, datagrams sent with UDP segmentation offload (else []). */
  segmentedDatagrams(): number[] {
    return this.pacing?.segmented() ?? [];
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
    validateSenderOptions(o, this.format, this.chunkBytes);
    await this.chooseRates();
    const unpaced = o.channels.some((c) => this.rates.get(c.id) === Infinity);
    this.buildGuide();
    const sdp = o.sdpFile ? new SdpFile(o.sdpFile, o.channels.map((c) => c.name).join(', '), o.log) : undefined;
    try {
      for (const ep of o.outputs) {
        const out = createOutput(ep, {
          ...o,
          unpaced,
          maxMessageBytes: this.chunkBytes + (this.format === 'ipcast' ? HEADER_BYTES : 0),
          guide: () => this.lastGuide,
          onClients: () => this.clientsChanged?.(),
          links: (this.stats.links ??= []),
          format: this.format,
          ...(sdp ? { sdp } : {}),
        });
        await out.open();
        this.outputs.push(out);
        this.stats.outputs.push(out.stats);
        if (out instanceof TcpServerOutput) this.tcp.push(out);
        else if ('clientCount' in out) this.servers.push(out as Output & { clientCount: number });
      }
      if (o.http) {
        const limit = o.maxClients !== undefined ? { maxClients: o.maxClients } : {};
        this.http = await openSenderHttp({ ...o.http, ...limit }, this.format, o.channels, (id) => this.rates.get(id), () => this.clientsChanged?.(), o.log);
        this.outputs.push(this.http);
        this.stats.outputs.push(this.http.stats);
      }
    } catch (err) {
      await Promise.all(this.outputs.map((out) => out.close([])));
      throw err;
    }
    for (const line of this.rateLines) this.opts.log?.(line);
    if ((o.pacing ?? settings().pacer) === 'native') {
      const paced = [...this.rates].map(([id, rate]) => ({ id, rate, burstBytes: this.burstBytes(rate) }));
      const opts = { raw: this.format === 'raw', chunkBytes: this.chunkBytes, gso: o.gso ?? settings().gso };
      this.pacing = NativePacing.startIfEligible(this.outputs, paced, opts, this.stats.channels);
    }
    this.sendGuide();
    if (this.format === 'ipcast') {
      this.guideTimer = setInterval(() => this.sendGuide(), o.guideIntervalMs ?? 1000);
    }
    void this.run().then(this.resolveDone, this.rejectDone);
  }

  private async chooseRates(): Promise<void> {
    for (const { channel: ch, rate, line } of await chooseRates(this.opts.channels, this.opts.rate)) {
      if (line) this.rateLines.push(line);
      this.rates.set(ch.id, rate);
      this.stats.channels.push({ id: ch.id, name: ch.name, rateBitsPerSecond: rate, chunks: 0, bytes: 0, loops: 0, ended: false });
      this.sequences.set(ch.id, 0);
    }
  }

  private buildGuide(): void {
    if (this.format === 'ipcast') this.guidePayload = guidePayload(this.opts.channels, this.rates, this.opts.outputs);
  }

  private sendGuide(): void {
    if (!this.guidePayload || this.stopping) return;
    this.lastGuide = encodeChunk(
      { kind: Kind.Guide, channel: GUIDE_CHANNEL, sequence: this.guideSeq++, timestampUs: nowUs() },
      this.guidePayload,
    );
    if (this.pacing) this.pacing.guide(this.lastGuide);
    else for (const out of this.outputs) out.send(this.lastGuide, true);
    this.stats.guides++;
  }

  private async run(): Promise<void> {
    let failure: unknown;
    try {
      await this.waitForClients();
      if (!this.stopping) {
        const pumps = this.opts.channels.map((ch, i) =>
          (this.pacing ? this.pumpBlocks(this.pacing, ch, i) : this.pump(ch, this.stats.channels[i]!)).catch((err: unknown) => {
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
    if (this.pacing) {
      // Every channel's queue goes out, then its end of stream; a stop cuts that short.
      if ((await this.orStop(this.pacing.done())) === STOP) this.pacing.stop();
      await this.pacing.done();
    }
    clearInterval(this.guideTimer);
    this.stopping = true;
    this.stopResolve(STOP);
    // With native pacing the thread has sent every end of stream already.
    const final = this.pacing ? [] : this.opts.channels.filter((c) => !this.eosSent.has(c.id)).map((c) => this.eos(c.id));
    for (const s of this.stats.channels) s.ended = true;
    await Promise.all(this.outputs.map((out) => out.close(this.format === 'ipcast' ? final : [])));
    if (failure !== undefined) {
      throw failure instanceof Error && 'exitCode' in failure ? failure : new RuntimeError(String((failure as Error)?.message ?? failure));
    }
  }

  private async waitForClients(): Promise<void> {
    const want = this.opts.waitClients ?? 0;
    if (want <= 0) return;
    const count = (): number => [...this.tcp, ...this.servers].reduce((n, t) => n + t.clientCount, 0) + (this.http?.clientCount ?? 0);
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

  private burstBytes(rate: number): number {
    return this.opts.burstBytes ?? defaultBurstBytes(rate, this.chunkBytes + (this.format === 'ipcast' ? HEADER_BYTES : 0));
  }

  /** Native pacing: the source's blocks (or its chunks, when it has no blocks) to the thread. */
  private pumpBlocks(pacing: NativePacing, ch: ChannelSource, index: number): Promise<void> {
    const s = this.stats.channels[index]!;
    const source = (ch.blocks ?? ch.chunks).call(ch, this.chunkBytes, this.opts.loop ?? false, () => s.loops++);
    return pacing.feed(index, source, (p) => this.orStop(p), () => this.stopping);
  }

  private async pump(ch: ChannelSource, s: ChannelStats): Promise<void> {
    const rate = this.rates.get(ch.id)!;
    const bucket = new TokenBucket(rate, this.burstBytes(rate));
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

/** Validates, measures, opens every output and starts streaming. Await `sender.done`. */
export async function startSender(opts: SenderOptions): Promise<Sender> {
  const sender = new Sender(opts);
  await sender.start();
  return sender;
}
