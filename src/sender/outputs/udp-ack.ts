/**
 * A unicast UDP output with stop-and-wait flow control (`send --flow ack`; src/shared/flow-ack.ts):
 * one data or end-of-stream chunk in flight at a time, marked "acknowledge me"; the next one
 * waits (ready() resolves) until the receiver's acknowledgement for it has come back.
 *
 * Retransmission: after RTO without the acknowledgement the chunk is sent again, the RTO
 * doubling each time (from max(MIN_RTO, 4 x the smoothed RTT), RTT sampled on chunks sent
 * once only: Karn's rule); after MAX_TRIES the output fails: ready() rejects, the sender ends
 * with one line, exit 1, unless the receiver answered "busy" (its decoder is behind: the
 * count starts over). Guides are sent as they come, never acknowledged.
 */
import { createSocket, type Socket } from 'node:dgram';

import { RuntimeError, UsageError, describeSystemError } from '../../shared/errors.js';
import { ackRequested, parseAck, withAckRequest } from '../../shared/flow-ack.js';
import type { Endpoint, UdpEndpoint } from '../../shared/url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';

const MIN_RTO_MS = 5;
const FIRST_RTO_MS = 100;
const MAX_RTO_MS = 800;
/** About 3 s without an answer: the receiver is gone (or not run with --flow ack). */
const MAX_TRIES = 6;

interface InFlight {
  buf: Buffer;
  channel: number;
  sequence: number;
  sentAt: number;
  tries: number;
}

/** What --flow ack measured, for the stats and the summary line. */
export interface FlowAckStats {
  acked: number;
  retransmitted: number;
  srttMs: number;
}

export class AckedUdpOutput implements Output {
  readonly stats: OutputStats;
  readonly flow: FlowAckStats = { acked: 0, retransmitted: 0, srttMs: 0 };
  private socket: Socket | undefined;
  private inflight: InFlight | undefined;
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rto = FIRST_RTO_MS;
  private srtt = 0;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(readonly endpoint: UdpEndpoint) {
    this.stats = newOutputStats(endpoint.url, 'udp', 'unicast-ack');
  }

  async open(): Promise<void> {
    const s = createSocket({ type: this.endpoint.family === 6 ? 'udp6' : 'udp4' });
    s.on('message', (msg) => this.onAck(msg));
    s.on('error', (err) => countError(this.stats, err));
    await new Promise<void>((resolve, reject) => {
      s.once('error', (err) => reject(new RuntimeError(`cannot open ${this.endpoint.url}: ${describeSystemError(err)}`, 'ERR_SOCKET')));
      s.bind(0, resolve);
    });
    this.socket = s;
  }

  send(buf: Buffer, guide = false): void {
    if (guide) {
      this.transmit(buf, true);
      return;
    }
    this.queue.push(buf);
    this.next();
  }

  ready(): Promise<void> | null {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.inflight && this.queue.length === 0) return null;
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private next(): void {
    if (this.inflight || this.failure) return;
    const raw = this.queue.shift();
    if (!raw) {
      for (const w of this.waiters.splice(0)) w.resolve();
      return;
    }
    const buf = withAckRequest(raw);
    const id = ackRequested(buf)!;
    this.inflight = { buf, channel: id.channel, sequence: id.sequence, sentAt: performance.now(), tries: 1 };
    this.transmit(buf, false);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimeout(), this.rto);
  }

  private onTimeout(): void {
    const f = this.inflight;
    if (!f) return;
    if (f.tries >= MAX_TRIES) {
      this.failure = new RuntimeError(
        `${this.endpoint.url}: no acknowledgement for chunk ${f.sequence} after ${f.tries} tries (is the receiver running with --flow ack?)`,
        'ERR_NO_ACK',
      );
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
      return;
    }
    f.tries++;
    this.flow.retransmitted++;
    this.rto = Math.min(this.rto * 2, MAX_RTO_MS);
    this.transmit(f.buf, false);
    this.arm();
  }

  private onAck(msg: Buffer): void {
    const a = parseAck(msg);
    const f = this.inflight;
    if (!a || !f || a.channel !== f.channel || a.sequence !== f.sequence) return; // a late duplicate
    if (a.busy) {
      // Received; the receiver's decoder is behind. Keep probing, never give up meanwhile.
      f.tries = 1;
      f.sentAt = Number.NaN; // no RTT sample from this chunk
      return;
    }
    clearTimeout(this.timer);
    if (f.tries === 1 && !Number.isNaN(f.sentAt)) {
      const rtt = performance.now() - f.sentAt;
      this.srtt = this.srtt === 0 ? rtt : 0.875 * this.srtt + 0.125 * rtt;
      this.flow.srttMs = this.srtt;
    }
    this.rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, 4 * this.srtt));
    this.flow.acked++;
    this.inflight = undefined;
    this.next();
  }

  private transmit(buf: Buffer, guide: boolean): void {
    this.socket?.send(buf, this.endpoint.port, this.endpoint.host, (err) => {
      if (err) countError(this.stats, err);
    });
    this.stats.chunks++;
    this.stats.bytes += buf.length;
    if (guide) this.stats.guides++;
  }

  async close(final: Buffer[]): Promise<void> {
    for (const f of final) this.send(f);
    // The end of stream is acknowledged like the data (bounded by the retries).
    while ((this.inflight || this.queue.length > 0) && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push({ resolve, reject: () => resolve() }));
    }
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export function validateFlowAck(outputs: Endpoint[], format: 'ipcast' | 'raw'): void {
  if (format === 'raw') throw new UsageError('--flow ack needs ipcast format (the acknowledgement names the chunk)', 'ERR_USAGE');
  const bad = outputs.find((e) => e.proto !== 'udp' || e.mode !== 'unicast');
  if (bad) throw new UsageError(`--flow ack is for unicast udp:// outputs; ${bad.url} is not one`, 'ERR_USAGE');
}
