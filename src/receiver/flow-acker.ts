/**
 * recv's side of stop-and-wait flow control (`recv --flow ack`; src/shared/flow-ack.ts): each
 * chunk that asks for it is acknowledged to its sender's address, unless a decoder's buffer is
 * full (the receiver is paused): then the acknowledgement waits until it has room again, and
 * the sender, which sends nothing new before it, waits with it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

import { ackFor, ackRequested } from '../shared/flow-ack.js';

export class FlowAcker {
  private readonly sockets = new Map<4 | 6, Socket>();
  private held: { buf: Buffer; host: string; port: number }[] = [];
  private paused = false;
  /** Acknowledgements sent, and held back while paused. */
  readonly counts = { acked: 0, heldBack: 0 };

  /** Every datagram from node:dgram: acknowledged if it asks for it. */
  onDatagram(buf: Buffer, host: string, port: number | undefined): void {
    const a = port === undefined ? undefined : ackRequested(buf);
    if (a) this.ack(a.channel, a.sequence, host, port!);
  }

  ack(channel: number, sequence: number, host: string, port: number): void {
    const a = { buf: ackFor(channel, sequence), host, port };
    if (this.paused) {
      this.counts.heldBack++;
      this.held.push(a);
      this.send({ buf: ackFor(channel, sequence, true), host, port }, false); // keep waiting
      return;
    }
    this.send(a);
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) return;
    const held = this.held;
    this.held = [];
    for (const a of held) this.send(a);
  }

  private send(a: { buf: Buffer; host: string; port: number }, count = true): void {
    const family: 4 | 6 = isIP(a.host) === 6 ? 6 : 4;
    let s = this.sockets.get(family);
    if (!s) {
      s = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
      s.on('error', () => {}); // a sender gone away: its retries give up by themselves
      this.sockets.set(family, s);
    }
    s.send(a.buf, a.port, a.host);
    if (count) this.counts.acked++;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
