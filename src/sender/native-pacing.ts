/**
 * The sender's native pacing loop (native/pacer/): when every output is an IPv4 UDP output
 * on the addon's socket, a thread of the addon paces each channel (the token bucket of
 * token-bucket.ts, same rules), writes the headers (sequence, timestamp, CRC-32C) and sends
 * every datagram to every output with one sendmmsg per batch. JS reads the sources in blocks
 * (a file's 256 KiB reads, see ChannelSource.blocks), sends the guide, and reads counters:
 * nothing per chunk. TCP outputs, IPv6, node:dgram and pacing 'js' stay on Sender.pump().
 *
 * Counters: the thread's are copied into the stats objects (stats.ts) every STATS_EVERY_MS
 * and once at the end, so metrics lag by at most that.
 */
import { errnoName } from '../shared/errors.js';
import { loadNative, type NativeUdpPacer } from '../shared/native.js';
import type { Output } from './outputs/output.js';
import { UdpOutput } from './outputs/udp.js';
import type { ChannelStats, OutputStats } from './stats.js';

const STATS_EVERY_MS = 100;
/** A channel's queue in the thread holds about this much of its stream before push() says full. */
const QUEUE_SECONDS = 0.1;
const QUEUE_MIN_BYTES = 256 * 1024;
const QUEUE_MAX_BYTES = 8 * 1024 * 1024;

export interface PacedChannel {
  id: number;
  /** bits/s; Infinity = unpaced. */
  rate: number;
  burstBytes: number;
}

/** The outputs as UdpOutputs on native sockets, or null when one of them is not. */
function nativePacingOutputs(outputs: Output[]): UdpOutput[] | null {
  const udp: UdpOutput[] = [];
  for (const out of outputs) {
    if (!(out instanceof UdpOutput) || out.nativeDestination() === null) return null;
    udp.push(out);
  }
  return udp.length > 0 ? udp : null;
}

export interface PacingOptions {
  raw: boolean;
  chunkBytes: number;
  gso: boolean;
}

export class NativePacing {
  private readonly pacer: NativeUdpPacer;
  private readonly drainWaiters = new Map<number, () => void>();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  /** A running pacing loop when every output is an IPv4 UDP output on the addon's socket, else null. */
  static startIfEligible(outputs: Output[], channels: PacedChannel[], opts: PacingOptions, channelStats: ChannelStats[]): NativePacing | null {
    const udp = nativePacingOutputs(outputs);
    return udp ? new NativePacing(udp, channels, opts, channelStats) : null;
  }

  private constructor(
    private readonly outputs: UdpOutput[],
    channels: PacedChannel[],
    opts: PacingOptions,
    private readonly channelStats: ChannelStats[],
  ) {
    this.pacer = new (loadNative().UdpPacer)(opts, (type, channel) => {
      if (type === 'drained') this.wake(channel);
      else {
        this.stopped = true;
        for (const c of [...this.drainWaiters.keys()]) this.wake(c);
      }
    });
    for (const out of outputs) {
      const d = out.nativeDestination()!;
      this.pacer.addDest(d.fd, d.host, d.port);
    }
    for (const c of channels) {
      const bytesPerSecond = c.rate === Infinity ? Infinity : c.rate / 8;
      const queue = Math.min(QUEUE_MAX_BYTES, Math.max(QUEUE_MIN_BYTES, bytesPerSecond * QUEUE_SECONDS));
      this.pacer.addChannel(c.id, c.rate === Infinity ? 0 : c.rate, c.burstBytes, queue);
    }
    this.pacer.start();
    this.timer = setInterval(() => this.refresh(), STATS_EVERY_MS);
    this.timer.unref();
  }

  /** Per output: datagrams that went in a UDP_SEGMENT send (for the tests and the bench). */
  segmented(): number[] {
    return this.pacer.stats().dests.map((d) => d.segmented);
  }

  /** A guide datagram, ahead of the queued chunks, to every output. */
  guide(buf: Buffer): void {
    if (!this.stopped) this.pacer.urgent(buf, true);
  }

  /** Hands one block of channel `index` to the thread; resolves when it may take the next. false: stopped. */
  private push(index: number, block: Buffer): boolean | Promise<boolean> {
    const r = this.pacer.push(index, block);
    if (r < 0) return false;
    if (r === 1) return true;
    return new Promise<boolean>((resolve) => this.drainWaiters.set(index, () => resolve(!this.stopped)));
  }

  /**
   * Hands a source's blocks to the thread until the source ends (then its end of stream
   * follows its queue) or `cut` gives up (a stop: `stopping()` is then true).
   */
  async feed(index: number, source: AsyncIterable<Buffer>, cut: <T>(p: Promise<T>) => Promise<T | symbol>, stopping: () => boolean): Promise<void> {
    const it = source[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (!stopping()) {
        const r = await cut(it.next());
        if (typeof r === 'symbol') break;
        if (r.done) {
          finished = true;
          break;
        }
        const more = this.push(index, r.value);
        if (more === false || (more !== true && (await cut(more)) !== true)) break;
      }
    } finally {
      // Do not wait: a source blocked in a read (stdin) would hold the shutdown.
      if (!finished) void it.return?.(undefined)?.catch(() => {});
    }
    if (finished) this.end(index);
  }

  /** The channel's source has ended: its end of stream follows its queue. */
  private end(index: number): void {
    this.pacer.end(index);
  }

  /** Drops what is queued; every channel not ended gets its end of stream. */
  stop(): void {
    this.pacer.stop();
  }

  /** Resolves when the thread has sent its last datagram (every channel ended, or stop()). */
  async done(): Promise<void> {
    await this.pacer.done();
    clearInterval(this.timer);
    this.refresh();
  }

  private wake(channel: number): void {
    const w = this.drainWaiters.get(channel);
    this.drainWaiters.delete(channel);
    w?.();
  }

  private refresh(): void {
    const s = this.pacer.stats();
    s.dests.forEach((d, i) => copyOutput(this.outputs[i]!.stats, d));
    s.channels.forEach((c, i) => {
      const cs = this.channelStats[i]!;
      cs.chunks = c.chunks;
      cs.bytes = c.bytes;
      if (c.ended) cs.ended = true;
    });
  }
}

function copyOutput(o: OutputStats, d: ReturnType<NativeUdpPacer['stats']>['dests'][number]): void {
  o.chunks = d.datagrams;
  o.bytes = d.bytes;
  o.guides = d.guides;
  o.sendErrors = d.errors;
  for (const [errno, count] of d.errnos) o.errorsByCode[errnoName(errno) ?? 'UNKNOWN'] = count;
}
