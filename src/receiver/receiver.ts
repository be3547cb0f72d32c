/**
 * The receiver: input (UDP group / UDP port / TCP connection) -> validation -> channel
 * selection -> sequence order -> one ChildFeeder per transport (the side-by-side comparison).
 *
 * A "session" is one stream: it starts with the first data chunk and ends with the channel's
 * end-of-stream chunk (or the idle timeout). Each session forks fresh children; with
 * --exit-on-eos the receiver finishes after the first session, with 0 if every child exited 0.
 */
import { decodeGuide } from '../shared/guide.js';
import { ChunkFramer } from '../shared/framer.js';
import { printable } from './guide-reader.js';
import { GUIDE_CHANNEL, Kind, decodeChunk, type Chunk, type DecodeReason, type DecodeResult } from '../shared/protocol.js';
import { transportParts, type ReceiverStats } from './stats.js';
import type { SinkFigures, TransportKind } from '../transport/stats.js';
import type { Endpoint } from '../shared/url.js';
import { ChildFeeder, type ChildExit, type FeedableChild, type SlowChildPolicy } from './child-feeder.js';
import { closeReceiverInput, openReceiverInput, type OpenedInput } from './inputs/open-input.js';
import { NativePath } from './native-path.js';
import { RunSequence, SequenceTracker } from './sequence-tracker.js';

export interface ReceiverOptions {
  endpoint: Endpoint;
  format: 'ipcast' | 'raw';
  /** The channel to play; undefined = the first in the guide (or of the first data chunk). */
  channel?: number;
  transports: TransportKind[];
  exitOnEos: boolean;
  idleTimeoutMs?: number;
  maxBufferBytes: number;
  policy: SlowChildPolicy;
  maxRestarts: number;
  stats: ReceiverStats;
  /** --http (src/http/): every data payload (copied) by channel, and each end of stream. */
  tap?: { data(channel: number, payload: Buffer): void; end(channel: number): void };
  /** Forks the child of one transport (the decoder itself, or the sink in front of it). */
  startChild(kind: TransportKind, sink: SinkFigures): Promise<FeedableChild>;
  log(message: string): void;
  /** Acknowledge chunks that ask for it (recv --flow ack; UDP through node:dgram and JS). */
  flowAck?: boolean;
}

/** UDP may reorder: hold up to this many chunks, at most REORDER_HOLD_MS. TCP never reorders. */
const REORDER_WINDOW = 32;
const REORDER_HOLD_MS = 50;
/** The kernel's drop counter is read every this many housekeeping ticks (1 s). */
const KERNEL_DROPS_EVERY_TICKS = 1000 / REORDER_HOLD_MS;
/** On SIGINT/SIGTERM, how long children get to drain and exit before they are killed. */
const STOP_GRACE_MS = 2000;

interface Session {
  feeders: Map<TransportKind, ChildFeeder>;
  /** The native relay's number for this stream (1, 2, ...); its outputs feed these children. */
  nativeSession: number;
  /** Chunks delivered in this session (an idle timeout ends only a stream that started). */
  delivered: number;
  started: Promise<void>;
  ended: boolean;
}

export class Receiver {
  /** UDP, TCP, SRT or RIST; the acknowledger of recv --flow ack. */
  private input: Partial<OpenedInput> = {};
  /** The native relay path (UDP, ipcast format): chunks never reach JS. */
  private native: NativePath | undefined;
  /** The native relay's live stream: the next session's children feed from its outputs. */
  private nativeSession = 1;
  private framer: ChunkFramer | undefined;
  /** The JS path's sequence order (the native path's is in native/relay/sequencer.c). */
  private readonly sequence: RunSequence<Chunk>;
  private session: Session | undefined;
  private readonly endingSessions = new Set<Session>(); // decoders being ended: stop() ends them too
  private selected: number | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = new Set<TransportKind>();
  private connections = 0;
  private ticks = 0;
  /** start() has finished: errors from here on are reported by the receiver itself. */
  private running = false;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code when the receiver has finished (exit-on-eos, or a fatal child failure). */
  readonly done: Promise<number>;

  constructor(private readonly o: ReceiverOptions) {
    this.selected = o.channel;
    o.stats.channel = o.channel ?? 0;
    this.sequence = new RunSequence(
      () => new SequenceTracker<Chunk>(o.endpoint.proto === 'udp' ? REORDER_WINDOW : 0, REORDER_HOLD_MS),
    );
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  async start(): Promise<void> {
    const ep = this.o.endpoint;
    // RTP in: the header is checked and stripped there, its sequence numbers drive the counts.
    const rtp = { stats: this.o.stats, chunk: (c: Chunk) => this.onChunk(c), error: (r: string) => this.countError(r as DecodeReason), restarted: () => this.sequence.next() };
    const input = await openReceiverInput(ep, { ...this.o, tapped: this.o.tap !== undefined, rtp }, {
      datagram: (buf, decoded) => this.onDatagram(buf, decoded),
      tcpData: (buf) => this.onTcpData(buf),
      newConnection: () => {
        if (this.connections++ > 0) this.o.stats.reconnects++;
        this.framer = this.newFramer();
        this.sequence.next();
      },
      connectionEnded: (why) => {
        if (this.o.format === 'raw' && this.session) this.endSession(ep.proto === 'tcp' ? 'the sender closed the connection' : `${ep.proto}: ${why}`);
        else if (why !== 'no connection') this.o.log(`${ep.proto}: ${why}${ep.proto === 'tcp' ? '; reconnecting' : ''}`);
      },
      log: (m) => this.o.log(m),
    });
    this.input = input;
    Object.assign(this.o.stats, input.acker ? { flowAck: input.acker.counts } : {}, input.repair ? { links: input.repair.links } : {});
    if (input.native) this.startNativePath(input.udp!.fd!);
    // Fork the children before the stream starts: forking stalls the event loop for a moment,
    // and a live UDP stream arriving meanwhile would overflow the socket buffer.
    this.startSession();
    await this.session?.started;
    this.running = true;
    this.housekeeping = setInterval(() => this.tick(), REORDER_HOLD_MS);
    this.housekeeping.unref();
    this.armIdleTimer();
  }

  /** Stop everything (SIGINT/SIGTERM): children closed, transports removed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.housekeeping) clearInterval(this.housekeeping);
    // The native relay ends the live stream: what it holds and what is queued drains to the
    // children below (as the JS path's queues do), then the relay stops and gives back every writer.
    if (this.native) {
      if (this.session) this.native.endIdle();
    } else {
      await closeReceiverInput(this.input);
    }
    const sessions = [...this.endingSessions, ...(this.session ? [this.session] : [])];
    this.session = undefined;
    // Cleanly if we can: the children get end of stream and exit; whoever is still there after
    // STOP_GRACE_MS (a decoder that ignores end of stream, too) is killed, its transport removed.
    const endOrKill = (f: ChildFeeder): Promise<void> => f.endOrKill(STOP_GRACE_MS);
    await Promise.all(sessions.map((s) => s.started.catch(() => {}).then(() => Promise.all([...s.feeders.values()].map(endOrKill)))));
    if (this.native) {
      await this.native.stop();
      await this.input.udp?.close();
    }
  }

  get listeningPort(): number | undefined {
    return this.input.udp?.port ?? this.input.repair?.port;
  }

  /** True when chunks take the native relay path (no JS per chunk). */
  get nativePath(): boolean {
    return this.native !== undefined;
  }

  private startNativePath(fd: number): void {
    const { channel, maxBufferBytes, transports, stats } = this.o;
    this.native = new NativePath(
      { fd, channel, window: REORDER_WINDOW, maxHoldMs: REORDER_HOLD_MS, maxBufferBytes, transports, stats },
      {
        guide: (guide) => {
          stats.guide = guide;
          this.armIdleTimer();
        },
        selected: (channel, fromGuide) => this.select(channel, fromGuide ? 'the first in the guide' : 'the first to arrive; no guide yet'),
        sessionEnd: (session, why) => this.onNativeSessionEnd(session, why),
        log: (m) => this.o.log(m),
      },
    );
  }

  /** The native relay ended stream `session` (its end of stream, or our idle timeout). */
  private onNativeSessionEnd(session: number, why: 'eos' | 'idle'): void {
    this.nativeSession = session + 1;
    if (this.stopped) return;
    if (this.session?.nativeSession !== session) {
      // A stream that began and ended while the last one's decoders were exiting: it gets
      // decoders of its own, as on the JS path, unless the run ends with the first stream.
      if (this.o.exitOnEos) return this.native!.discard(session);
      this.startSession(session);
    }
    this.endSession(why === 'idle' ? `no data for ${this.o.idleTimeoutMs! / 1000} s` : 'end of stream');
  }

  private newFramer(): ChunkFramer {
    return new ChunkFramer({ chunk: (c) => this.onChunk(c), error: (r) => this.countError(r) });
  }

  private countError(reason: DecodeReason): void {
    const e = this.o.stats.decodeErrors;
    e[reason] = (e[reason] ?? 0) + 1;
  }

  /** `decoded`: the input already decoded and checked it (the native UDP input). */
  private onDatagram(buf: Buffer, decoded?: DecodeResult): void {
    const s = this.o.stats;
    s.chunksReceived++;
    s.bytesReceived += buf.length;
    if (this.o.format === 'raw') {
      this.deliverPayload(buf, 0);
      return;
    }
    const r = decoded ?? decodeChunk(buf);
    if (r.ok) this.onChunk(r.chunk);
    else this.countError(r.reason);
  }

  private onTcpData(buf: Buffer): void {
    const s = this.o.stats;
    s.bytesReceived += buf.length;
    if (this.o.format === 'raw') {
      s.chunksReceived++;
      this.deliverPayload(buf, 0);
      return;
    }
    this.framer ??= this.newFramer();
    this.framer.push(buf);
  }

  private onChunk(c: Chunk): void {
    const s = this.o.stats;
    if (this.o.endpoint.proto === 'tcp') s.chunksReceived++;
    if (c.channel === GUIDE_CHANNEL) {
      if (c.kind === Kind.Guide) {
        const guide = decodeGuide(c.payload);
        if (!guide) {
          this.countError('bad_guide');
          return;
        }
        s.guide = guide;
        if (this.selected === undefined && guide.length > 0) this.select(guide[0]!.id, 'the first in the guide');
      }
      this.armIdleTimer();
      return;
    }
    if (this.selected === undefined) {
      if (c.kind !== Kind.Data) return;
      this.select(c.channel, 'the first to arrive; no guide yet');
    }
    if (c.channel !== this.selected) {
      if (c.kind === Kind.Data) this.o.tap?.data(c.channel, c.payload);
      else if (c.kind === Kind.EndOfStream) this.o.tap?.end(c.channel);
      s.otherChannel++;
      return;
    }
    if (c.kind === Kind.Heartbeat) {
      this.armIdleTimer(); // data arms it as it is delivered
      return;
    }
    this.release(this.sequence.current.push(c.sequence, c, c.timestampUs));
  }

  private select(channel: number, why: string): void {
    this.selected = channel;
    this.o.stats.channel = channel;
    const info = this.o.stats.guide.find((g) => g.id === channel);
    this.o.log(`playing channel ${channel}${info ? ` (${printable(info.name)})` : ''}: ${why}`);
  }

  private release(chunks: Chunk[]): void {
    Object.assign(this.o.stats, this.sequence.totals());
    for (const c of chunks) {
      if (c.kind === Kind.EndOfStream) this.endSession('end of stream');
      else if (c.kind === Kind.Data) this.deliverPayload(c.payload, c.timestampUs);
    }
  }

  private deliverPayload(payload: Buffer, senderTimestampUs: number): void {
    if (this.stopped || payload.length === 0) return;
    this.armIdleTimer();
    const session = this.session ?? this.startSession();
    if (!session) return;
    const meta = { senderTimestampUs };
    this.o.tap?.data(this.selected ?? 1, payload);
    session.delivered++;
    for (const f of session.feeders.values()) f.deliver(payload, meta);
  }

  private startSession(nativeSession = this.nativeSession): Session | undefined {
    const s = this.o.stats;
    s.endOfStream = false;
    const feeders = new Map<TransportKind, ChildFeeder>();
    for (const kind of this.o.transports) {
      const parts = transportParts(s, kind);
      feeders.set(
        kind,
        new ChildFeeder({
          kind,
          start: () => this.o.startChild(kind, parts.sink),
          handOff: parts.handOff,
          child: parts.child,
          maxBufferBytes: this.o.maxBufferBytes,
          // With --flow ack a full buffer holds the acknowledgement back: nothing is dropped.
          policy: this.o.endpoint.proto === 'tcp' ? this.o.policy : this.o.flowAck ? 'block' : 'drop-oldest',
          maxRestarts: this.o.maxRestarts,
          backpressure: (paused) => this.onBackpressure(kind, paused),
          log: this.o.log,
          ...(this.native ? { native: this.native.output(kind, nativeSession) } : {}),
        }),
      );
    }
    const session: Session = { feeders, nativeSession, delivered: 0, ended: false, started: Promise.resolve() };
    // Settles once every child's start has: a stop() after a failed start then finds each
    // child that did start, and closes it.
    session.started = Promise.allSettled([...feeders.values()].map((f) => f.start())).then((results) => {
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    });
    session.started.catch((err: Error) => {
      // The first session's failure is start()'s own error; a later one ends the run here.
      if (!this.running) return;
      this.o.log(`cannot start the decoder: ${err.message}`);
      void this.finish(1);
    });
    this.session = session;
    return session;
  }

  private onBackpressure(kind: TransportKind, paused: boolean): void {
    if (paused) this.paused.add(kind);
    else this.paused.delete(kind);
    if (this.paused.size > 0) this.input.tcp?.pause();
    else this.input.tcp?.resume();
    this.input.acker?.setPaused(this.paused.size > 0);
  }

  /** Ends the current stream: the children's input is closed and they are waited for. */
  private endSession(why: string): void {
    const session = this.session;
    this.o.tap?.end(this.selected ?? 1);
    this.o.stats.endOfStream = true;
    this.session = undefined;
    this.sequence.next();
    if (!session) {
      if (this.o.exitOnEos) void this.finish(0);
      return;
    }
    session.ended = true;
    this.endingSessions.add(session);
    this.o.log(`${why}: closing the decoders' input`);
    void session.started
      .then(() => Promise.all([...session.feeders.values()].map((f) => f.endOfStream())))
      .then((exits: ChildExit[]) => {
        const failed = exits.filter((e) => e.code !== 0);
        for (const [i, kind] of [...session.feeders.keys()].entries()) {
          const e = exits[i]!;
          if (e.code !== 0) this.o.log(`${kind}: decoder ${e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`}`);
        }
        if (this.o.exitOnEos) void this.finish(failed.length === 0 ? 0 : 1);
        else if (!this.stopped && !this.session) this.startSession();
      })
      .catch(() => {})
      .finally(() => this.endingSessions.delete(session));
  }

  private armIdleTimer(): void {
    if (this.o.idleTimeoutMs === undefined || this.stopped) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.native) {
          // The relay ends the stream and says so ('session-end'), in order with its chunks.
          if (this.session?.delivered || this.o.exitOnEos) this.native.endIdle();
        } else if (this.session?.delivered || this.o.exitOnEos) {
          this.release(this.sequence.current.releaseAll());
          this.endSession(`no data for ${this.o.idleTimeoutMs! / 1000} s`);
        }
        this.armIdleTimer();
      }, this.o.idleTimeoutMs);
    }
  }

  private tick(): void {
    if (this.native) {
      const sync = this.native.sync();
      if (this.session) this.session.delivered += sync.delivered;
      if (sync.active) this.armIdleTimer();
    } else {
      this.release(this.sequence.current.flushStale());
    }
    // /proc/net/udp is read synchronously and can be large: once a second is plenty.
    if (this.input.udp && ++this.ticks % KERNEL_DROPS_EVERY_TICKS === 0) this.o.stats.kernelDrops = this.input.udp.kernelDrops();
    // Every child gave up (restart limit): nothing left to feed.
    const s = this.session;
    if (s && s.feeders.size > 0 && [...s.feeders.values()].every((f) => f.hasFailed)) {
      this.o.log('every decoder has failed');
      void this.finish(1);
    }
  }

  private async finish(code: number): Promise<void> {
    await this.stop();
    this.resolveDone(code);
  }
}
