/**
 * The relay: one input of any kind recv takes (UDP group or port, TCP connection) -> the same
 * validation as recv (every chunk decoded, checksum verified; bad ones dropped and counted by
 * reason) -> per-channel sequence order (SequenceTracker: UDP reorders within 32 chunks /
 * 50 ms, duplicates dropped, losses counted) -> every output send has (UDP multicast, unicast,
 * broadcast, TCP listeners), through the sender's own Output classes.
 *
 * What is re-emitted: data, guide and end-of-stream chunks with their header as it arrived:
 * channel, sequence number, sender timestamp and flags are preserved (the chunk is re-encoded
 * from the decoded header, so its checksum is the same), so every receiver downstream counts
 * losses against the origin's numbering and measures latency against the origin's clock.
 * Heartbeats are passed on too. Only when the relay itself is stopped (SIGINT/SIGTERM) with a
 * channel still open does it write a chunk of its own: that channel's end of stream, numbered
 * one past the last chunk it forwarded.
 *
 * Bounds: a UDP output holds at most its maxInflight datagrams; a chunk for a full one is
 * dropped for that output and counted (droppedFull: ipcast_sender_output_full_dropped_chunks_total)
 * while the input cannot wait (UDP, SRT, RIST). A TCP output drops a client that falls 4 MiB
 * behind (the sender's slow-client policy); a new client gets the latest guide first. With a
 * TCP input, a full UDP output pauses the connection instead (backpressure upstream).
 */
import { ChunkFramer } from '../shared/framer.js';
import { decodeGuide } from '../shared/guide.js';
import { GUIDE_CHANNEL, HEADER_BYTES, Kind, decodeChunk, encodeChunk, type Chunk, type DecodeReason, type DecodeResult } from '../shared/protocol.js';
import { emptyReceiverStats, type ReceiverStats } from '../receiver/stats.js';
import type { Endpoint, TcpEndpoint } from '../shared/url.js';
import { openRistInput, openSrtInput, type MessageInput, type MessageInputHandlers } from '../receiver/inputs/repair-input.js';
import { openTcpInput, type TcpInput } from '../receiver/inputs/tcp-input.js';
import { repairOutput, repairPayloadLimit } from '../sender/outputs/repair.js';
import { openUdpInput, type UdpInput } from '../receiver/inputs/udp-input.js';
import { SequenceTracker } from '../receiver/sequence-tracker.js';
import type { Output } from '../sender/outputs/output.js';
import { TcpServerOutput } from '../sender/outputs/tcp-server.js';
import { UdpOutput } from '../sender/outputs/udp.js';
import { nowUs } from '../sender/sender.js';
import { HttpOutput } from '../http/http-output.js';
import type { HttpStats } from '../http/stream-server.js';
import { udpFeedOpener } from '../http/udp-feed.js';
import { RtpDepacketizer } from '../rtp/rtp-input.js';
import { RtpOutput } from '../rtp/rtp-output.js';
import { SdpFile } from '../rtp/sdp.js';
import type { ChannelStats, SenderStats } from '../sender/stats.js';

export interface RelayOptions {
  /** From parseEndpoint(..., 'recv'). */
  input: Endpoint;
  /** From parseEndpoint(..., 'send'); a TCP output may listen on port 0 (see tcpAddresses()). */
  outputs: Endpoint[];
  /** Finish once every channel of the stream has ended (its end of stream forwarded). */
  exitOnEos: boolean;
  /** TCP clients served at once per tcp:// output. */
  maxClients?: number;
  /** --http: /channel/N, /udp/GROUP:PORT, /playlist.m3u, /guide.json (src/http/). */
  http?: { host: string; port: number };
  /** --sdp FILE: the session description of the rtp:// outputs. */
  sdpFile?: string;
  log(line: string): void;
}

/** UDP may reorder: as recv, hold up to this many chunks per channel, at most REORDER_HOLD_MS. */
const REORDER_WINDOW = 32;
const REORDER_HOLD_MS = 50;

interface ChannelState {
  tracker: SequenceTracker<Chunk>;
  stats: ChannelStats;
  /** The sequence number of the last chunk forwarded. */
  lastSequence: number;
}

function own(r: DecodeResult): DecodeResult {
  return r.ok ? { ok: true, chunk: { ...r.chunk, payload: Buffer.from(r.chunk.payload) } } : r;
}

export class Relay {
  /** Input side, as recv counts it (chunks, decode errors by reason, lost, reordered, duplicates). */
  readonly input: ReceiverStats = emptyReceiverStats();
  /** Output side, as send counts it (per output; per channel forwarded). */
  readonly output: SenderStats = { startedAt: Date.now(), channels: [], outputs: [], guides: 0 };
  readonly done: Promise<number>;
  private readonly outputs: Output[] = [];
  private readonly tcpOutputs: TcpServerOutput[] = [];
  private http: HttpOutput | undefined;
  private readonly channels = new Map<number, ChannelState>();
  private udp: UdpInput | undefined;
  private tcp: TcpInput | undefined;
  private repair: MessageInput | undefined;
  private framer: ChunkFramer | undefined;
  private lastGuide: Buffer | null = null;
  private guideChannels: number[] = [];
  private housekeeping: NodeJS.Timeout | undefined;
  private waitingOutputs = false;
  private stopped = false;
  private resolveDone!: (code: number) => void;

  constructor(private readonly o: RelayOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** The TCP outputs' listening addresses (the real port when the URL asked for port 0). */
  tcpAddresses(): { url: string; host: string; port: number }[] {
    return this.tcpOutputs.map((t) => ({ url: t.endpoint.url, ...t.address() }));
  }

  /** The HTTP server's address and counts (--http). */
  httpServer(): { address: { host: string; port: number }; stats: HttpStats } | undefined {
    return this.http ? { address: this.http.server.address(), stats: this.http.server.stats } : undefined;
  }

  async start(): Promise<void> {
    const sdp = this.o.sdpFile ? new SdpFile(this.o.sdpFile, `ipcast relay of ${this.o.input.url}`, this.o.log) : undefined;
    for (const ep of this.o.outputs) {
      const out =
        ep.proto === 'srt' || ep.proto === 'rist'
          ? repairOutput(ep, {
              // A relayed chunk is as large as its origin made it: room for the largest one.
              maxMessageBytes: repairPayloadLimit(ep),
              guide: () => this.lastGuide,
              links: (this.output.links ??= []),
              log: (m) => this.o.log(m),
            })
          : ep.proto === 'tcp'
          ? new TcpServerOutput(ep, { ...(this.o.maxClients !== undefined ? { maxClients: this.o.maxClients } : {}), guide: () => this.lastGuide, log: (m) => this.o.log(m) })
          : ep.rtp
            ? new RtpOutput(ep, { format: 'ipcast', ...(sdp ? { sdp } : {}) })
            : new UdpOutput(ep);
      if (out instanceof TcpServerOutput) this.tcpOutputs.push(out);
      this.outputs.push(out);
      this.output.outputs.push(out.stats);
    }
    if (this.o.http) {
      const input = this.o.input;
      this.http = new HttpOutput({
        ...this.o.http,
        ...(this.o.maxClients !== undefined ? { maxClients: this.o.maxClients } : {}),
        format: 'ipcast',
        anyChannel: true,
        channels: () => this.input.guide.length > 0 ? this.input.guide : [...this.channels.keys()].map((id) => ({ id, name: `channel ${id}`, description: '', bitrate: 0 })),
        udp: udpFeedOpener(input.proto === 'udp' && input.mode === 'multicast' ? input.iface : undefined, (m) => this.o.log(`http ${m}`)),
        log: (m) => this.o.log(m),
      });
      this.outputs.push(this.http);
      this.output.outputs.push(this.http.stats);
    }
    try {
      for (const out of this.outputs) await out.open();
      await this.openInput();
    } catch (err) {
      await Promise.all(this.outputs.map((out) => out.close([])));
      throw err;
    }
    this.housekeeping = setInterval(() => this.tick(), REORDER_HOLD_MS);
  }

  private async openInput(): Promise<void> {
    const ep = this.o.input;
    if (ep.proto === 'udp' && ep.rtp) {
      const rtp = new RtpDepacketizer();
      this.udp = await openUdpInput(ep, {
        datagram: (buf) => {
          const r = rtp.push(buf);
          if (r.ok) this.onDecoded(buf.length, { ok: true, chunk: r.chunk });
          else if (!this.stopped) {
            this.input.chunksReceived++;
            this.input.bytesReceived += buf.length;
            this.onError(r.reason as DecodeReason);
          }
        },
        warning: (m) => this.o.log(m),
      });
      return;
    }
    if (ep.proto === 'udp') {
      this.udp = await openUdpInput(
        ep,
        {
          // The native input's views point into a batch buffer it reuses: a chunk the tracker
          // may hold gets its own copy of the payload.
          datagram: (buf, _from, decoded) => this.onDecoded(buf.length, decoded ? own(decoded) : decodeChunk(buf)),
          warning: (m) => this.o.log(m),
        },
        { decode: true },
      );
      return;
    }
    if (ep.proto === 'srt' || ep.proto === 'rist') {
      const handlers: MessageInputHandlers = {
        connected: (peer) => {
          this.o.log(`${ep.proto}: ${peer} connected`);
          if (this.input.chunksReceived > 0) this.input.reconnects++;
        },
        message: (buf) => this.onDecoded(buf.length, decodeChunk(buf)),
        disconnected: (why) => this.o.log(`${ep.proto}: ${why}`),
        warning: (m) => this.o.log(m),
      };
      this.repair = ep.proto === 'srt' ? openSrtInput(ep, handlers) : openRistInput(ep, handlers);
      this.input.links = this.repair.links;
      return;
    }
    this.tcp = openTcpInput(ep as TcpEndpoint, {
      connected: () => {
        this.framer = new ChunkFramer({ chunk: (c) => this.onDecoded(c.payload.length + HEADER_BYTES, { ok: true, chunk: c }), error: (r) => this.onError(r) });
        if (this.input.chunksReceived > 0) this.input.reconnects++;
      },
      data: (buf) => this.framer?.push(buf),
      disconnected: (why) => {
        if (why !== 'no connection') this.o.log(`tcp: ${why}; reconnecting`);
      },
      warning: (m) => this.o.log(m),
    });
  }

  private onError(reason: DecodeReason): void {
    this.input.decodeErrors[reason] = (this.input.decodeErrors[reason] ?? 0) + 1;
  }

  private onDecoded(bytes: number, r: DecodeResult): void {
    if (this.stopped) return;
    this.input.chunksReceived++;
    this.input.bytesReceived += bytes;
    if (!r.ok) return this.onError(r.reason);
    const c = r.chunk;
    if (c.kind === Kind.Guide && c.channel === GUIDE_CHANNEL) {
      const guide = decodeGuide(c.payload);
      if (!guide) return this.onError('bad_guide');
      this.input.guide = guide;
      this.guideChannels = guide.map((g) => g.id);
      for (const g of guide) {
        const ch = this.channels.get(g.id);
        if (ch) ch.stats.name = g.name;
      }
      this.lastGuide = encodeChunk(c, c.payload);
      this.output.guides++;
      this.emit(this.lastGuide, true);
      return;
    }
    if (c.kind === Kind.Heartbeat) return this.emit(encodeChunk(c, c.payload));
    const ch = this.channel(c.channel);
    this.forward(ch, ch.tracker.push(c.sequence, c, c.timestampUs));
  }

  private channel(id: number): ChannelState {
    let ch = this.channels.get(id);
    if (!ch) {
      const name = this.input.guide.find((g) => g.id === id)?.name ?? '';
      const stats: ChannelStats = { id, name, rateBitsPerSecond: Number.NaN, chunks: 0, bytes: 0, loops: 0, ended: false };
      ch = { tracker: new SequenceTracker<Chunk>(REORDER_WINDOW, REORDER_HOLD_MS), stats, lastSequence: -1 };
      this.channels.set(id, ch);
      this.output.channels.push(stats);
    }
    return ch;
  }

  private forward(ch: ChannelState, chunks: Chunk[]): void {
    for (const c of chunks) {
      // The chunk before an end of stream may be late: the tracker puts the end last.
      ch.lastSequence = c.sequence;
      if (c.kind === Kind.EndOfStream) ch.stats.ended = true;
      else {
        ch.stats.ended = false; // a new stream on the channel
        ch.stats.chunks++;
        ch.stats.bytes += c.payload.length;
      }
      this.emit(encodeChunk(c, c.payload));
    }
    this.count();
    if (chunks.some((c) => c.kind === Kind.EndOfStream)) this.checkEnd();
  }

  private emit(buf: Buffer, guide = false): void {
    let full: Promise<void>[] | undefined;
    for (const out of this.outputs) {
      const wait = out.ready();
      if (wait && !this.tcp) {
        // A live UDP, SRT or RIST input cannot wait: this output misses the chunk, counted.
        out.stats.droppedFull++;
        continue;
      }
      out.send(buf, guide);
      const after = out.ready();
      if (after) (full ??= []).push(after);
    }
    if (full && this.tcp && !this.waitingOutputs) {
      // TCP input: stop reading until every output has room again.
      this.waitingOutputs = true;
      this.tcp.pause();
      void Promise.all(full).then(() => {
        this.waitingOutputs = false;
        this.tcp?.resume();
      });
    }
  }

  /** lost, reordered and duplicates over every channel, as recv reports them. */
  private count(): void {
    let lost = 0;
    let reordered = 0;
    let duplicates = 0;
    for (const ch of this.channels.values()) {
      lost += ch.tracker.counts.lost;
      reordered += ch.tracker.counts.reordered;
      duplicates += ch.tracker.counts.duplicates;
    }
    Object.assign(this.input, { lost, reordered, duplicates });
  }

  private checkEnd(): void {
    const wanted = this.guideChannels.length > 0 ? this.guideChannels : [...this.channels.keys()];
    const allEnded = wanted.every((id) => this.channels.get(id)?.stats.ended === true);
    this.input.endOfStream = allEnded;
    if (allEnded && this.o.exitOnEos) void this.finish(0);
  }

  private tick(): void {
    for (const ch of this.channels.values()) this.forward(ch, ch.tracker.flushStale());
    if (this.udp) this.input.kernelDrops = this.udp.kernelDrops();
  }

  /** Stops: what is held goes out, open channels get an end of stream, outputs close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.housekeeping) clearInterval(this.housekeeping);
    await Promise.all([this.udp?.close(), this.tcp?.close(), this.repair?.close()]);
    const final: Buffer[] = [];
    for (const [id, ch] of this.channels) {
      const held = ch.tracker.releaseAll();
      for (const c of held) this.emit(encodeChunk(c, c.payload));
      if (held.length > 0) ch.lastSequence = held[held.length - 1]!.sequence;
      if (held.some((c) => c.kind === Kind.EndOfStream) || ch.stats.ended) continue;
      final.push(encodeChunk({ kind: Kind.EndOfStream, channel: id, sequence: (ch.lastSequence + 1) >>> 0, timestampUs: nowUs() }));
      ch.stats.ended = true;
    }
    await Promise.all(this.outputs.map((out) => out.close(final)));
  }

  async finish(code: number): Promise<void> {
    await this.stop();
    this.resolveDone(code);
  }

  /** One line: what came in, what went out. */
  summary(): string {
    const i = this.input;
    const errors = Object.values(i.decodeErrors).reduce((a, b) => a + (b ?? 0), 0);
    const outs = this.output.outputs.map(
      (s) => `${s.url}: ${s.chunks} chunks (${s.bytes} bytes), dropped ${s.droppedFull}, send errors ${s.sendErrors}` +
        (s.proto === 'tcp' ? `, clients ${s.clientsAccepted} (dropped ${s.clientsDropped}, refused ${s.clientsRefused})` : ''),
    );
    return `received ${i.chunksReceived} chunks (${i.bytesReceived} bytes); lost ${i.lost}; reordered ${i.reordered}; duplicates ${i.duplicates}; decode errors ${errors}; ${outs.join('; ')}`;
  }
}
