/**
 * A seeded impairing path on 127.0.0.1 with exact ground truth: it sits between `ipcast send`
 * and `ipcast recv` and, chunk by chunk, drops, duplicates or swaps the data chunks of one
 * channel, recording exactly what it forwarded. Everything else (the guide, other channels)
 * goes through untouched; the end-of-stream chunk goes after any chunk held for a swap, and
 * can be kept back until the test releases it (to read /metrics while recv still runs).
 *
 * - UDP: one datagram in, zero, one or two out, sent back to back.
 * - TCP: the same at the framing level: frames cut by their header's length field (an
 *   independent parser: magic at 0, kind at 5, channel at 6, length at 8, sequence at 12).
 *
 * A swap holds the chunk back and sends it right after the next data chunk of the channel
 * (whatever that one's own fate), so the two arrive together: never later than recv's window.
 */
import dgram from 'node:dgram';
import net from 'node:net';

import { rng } from './rng.js';

export interface ImpairOptions {
  seed: number;
  /** Probabilities per data chunk (exclusive): drop, duplicate, swap with the next one. */
  drop: number;
  duplicate: number;
  swap: number;
  /** The channel to impair (default 1). */
  channel?: number;
  /** Keep the end-of-stream chunk back until releaseEos() (default false). */
  holdEos?: boolean;
}

export interface ImpairRecord {
  /** The channel's data chunk numbers in the order forwarded (the arrival list recv sees). */
  arrivals: number[];
  /** Payload of every data chunk that came in, by sequence number. */
  payloads: Map<number, Buffer>;
  /** What it did, by sequence number. */
  dropped: number[];
  duplicated: number[];
  swapped: number[];
  /** Data chunks that came in (from the sender). */
  received: number;
  eosSeen: boolean;
  /** Set when the TCP path could not cut the sender's stream into frames. */
  error?: string;
}

const MAGIC = 0x49504331;
const HEADER = 32;
const KIND_DATA = 1;
const KIND_EOS = 3;

/** The decisions and the record, shared by the UDP and TCP forwarders. */
class Impairer {
  readonly record: ImpairRecord = { arrivals: [], payloads: new Map(), dropped: [], duplicated: [], swapped: [], received: 0, eosSeen: false };
  private readonly next: () => number;
  private held: { chunk: Buffer; seq: number } | undefined;
  private eos: Buffer | undefined;
  eosReleased = false;

  constructor(
    private readonly o: ImpairOptions,
    /** Where the chunks go (set once the TCP client is there). */
    public emit: (chunk: Buffer) => void,
  ) {
    this.next = rng(o.seed);
  }

  /** One whole chunk from the sender. */
  chunk(chunk: Buffer): void {
    const ok = chunk.length >= HEADER && chunk.readUInt32BE(0) === MAGIC && chunk.readUInt16BE(6) === (this.o.channel ?? 1);
    const kind = ok ? chunk[5] : undefined;
    if (kind === KIND_EOS) {
      this.record.eosSeen = true;
      this.flushHeld();
      if (this.o.holdEos && !this.eosReleased) this.eos = chunk;
      else this.emit(chunk);
      return;
    }
    if (kind !== KIND_DATA) {
      this.emit(chunk);
      return;
    }
    const seq = chunk.readUInt32BE(12);
    this.record.received++;
    this.record.payloads.set(seq, chunk.subarray(HEADER, HEADER + chunk.readUInt32BE(8)));
    const r = this.next();
    const o = this.o;
    if (r < o.drop) {
      this.record.dropped.push(seq);
    } else if (r < o.drop + o.duplicate) {
      this.record.duplicated.push(seq);
      this.forward(chunk, seq);
      this.forward(chunk, seq);
    } else if (r < o.drop + o.duplicate + o.swap && !this.held) {
      this.record.swapped.push(seq);
      this.held = { chunk, seq };
      return;
    } else {
      this.forward(chunk, seq);
    }
    this.flushHeld();
  }

  releaseEos(): void {
    this.eosReleased = true;
    if (this.eos) this.emit(this.eos);
    this.eos = undefined;
  }

  private flushHeld(): void {
    const h = this.held;
    this.held = undefined;
    if (h) this.forward(h.chunk, h.seq);
  }

  private forward(chunk: Buffer, seq: number): void {
    this.record.arrivals.push(seq);
    this.emit(chunk);
  }
}

export interface Impairing {
  /** The port the path listens on: the sender sends to it (UDP), recv connects to it (TCP). */
  port: number;
  record: ImpairRecord;
  releaseEos(): void;
  close(): Promise<void>;
}

/** UDP: listens on 127.0.0.1 (an ephemeral port), forwards to 127.0.0.1:toPort. */
export async function startUdpImpairer(o: ImpairOptions & { toPort: number }): Promise<Impairing> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const imp = new Impairer(o, (chunk) => sock.send(chunk, o.toPort, '127.0.0.1'));
  sock.on('message', (msg) => imp.chunk(msg));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    port: sock.address().port,
    record: imp.record,
    releaseEos: () => imp.releaseEos(),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

/**
 * TCP: listens on 127.0.0.1; for the first client, connects to 127.0.0.1:upstreamPort (the
 * sender's TCP server) and forwards its frames, impaired, to the client.
 */
export async function startTcpImpairer(o: ImpairOptions & { upstreamPort: number }): Promise<Impairing> {
  const sockets = new Set<net.Socket>();
  const imp = new Impairer(o, () => {});
  let client: net.Socket | undefined;
  let upClosed = false;
  const endWhenDone = (): void => {
    if (upClosed && (!o.holdEos || imp.eosReleased)) client?.end();
  };
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => {});
    if (client) {
      c.destroy();
      return;
    }
    client = c;
    imp.emit = (chunk) => c.write(chunk);
    const up = net.connect(o.upstreamPort, '127.0.0.1');
    sockets.add(up);
    // The sender closes once it has sent its end of stream; the client's side ends only
    // after that end of stream went out (it may be kept back).
    up.on('close', () => {
      sockets.delete(up);
      upClosed = true;
      endWhenDone();
    });
    up.on('error', () => c.destroy());
    c.on('close', () => up.destroy());
    let buf: Buffer = Buffer.alloc(0);
    up.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let at = 0;
      while (buf.length - at >= HEADER) {
        if (buf.readUInt32BE(at) !== MAGIC) {
          imp.record.error = `no frame at byte ${at} of a buffer of the sender's stream`;
          up.destroy();
          return;
        }
        const end = at + HEADER + buf.readUInt32BE(at + 8);
        if (end > buf.length) break;
        imp.chunk(Buffer.from(buf.subarray(at, end)));
        at = end;
      }
      buf = buf.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    record: imp.record,
    releaseEos: () => {
      imp.releaseEos();
      endWhenDone();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A two-way lossy UDP path for protocols that repair loss (SRT, RIST): they need their reverse
 * traffic (ACK, NAK/NACK, RTCP), so the path listens on 127.0.0.1, forwards what comes in to
 * 127.0.0.1:toPort through a socket of its own, and sends whatever comes back to that socket
 * on to the last sender it heard from. Only the forward direction is impaired, and only the
 * datagrams `impairable` picks (an SRT data packet, a RIST RTP packet): seeded drops, single or
 * in bursts, with exact counts. `ports: 2` forwards a pair (P and P+1: RTP and RTCP, RIST's
 * simple profile); only the first port of the pair is impaired.
 *
 * Multicast (RIST): `fromGroup` makes the path join that group on 127.0.0.1 and take what is
 * sent to it (the sender sends to fromGroup:port); `toGroup` makes it send on to that group,
 * out of 127.0.0.1, instead of to 127.0.0.1:toPort. Replies (NACKs) still come back unicast.
 */
export interface LossyPathOptions {
  seed: number;
  /** Probability that an impairable datagram starts a loss (a burst, if burstMax > 1). */
  loss: number;
  /** A loss takes 1..burstMax datagrams in a row, evenly (default 1). */
  burstMax?: number;
  /** After a loss, this many impairable datagrams always pass (isolated losses; default 0). */
  minGap?: number;
  /** The first this many impairable datagrams are dropped, whatever the seed says (default 0). */
  dropFirst?: number;
  /** Which forward datagrams may be dropped (default: all). */
  impairable?: (datagram: Buffer) => boolean;
  /** A name for a dropped datagram, counted in droppedBy (e.g. 'original' / 'retransmission'). */
  label?: (datagram: Buffer) => string;
  toPort: number;
  ports?: 1 | 2;
  /** Listen on this group (joined on 127.0.0.1) instead of 127.0.0.1. */
  fromGroup?: string;
  /** Forward to this group (out of 127.0.0.1) instead of 127.0.0.1. */
  toGroup?: string;
}

export interface LossyRecord {
  /** Forward datagrams that came in, that were impairable, that went on, that were dropped. */
  received: number;
  impairable: number;
  forwarded: number;
  dropped: number;
  droppedBy: Record<string, number>;
  /** Loss events (a burst counts once). */
  losses: number;
  /** Datagrams carried back (receiver to sender). */
  reverse: number;
}

export interface LossyPath {
  /** The (first) port the path listens on: the sender sends (or calls) here. */
  port: number;
  record: LossyRecord;
  close(): Promise<void>;
}

export async function startLossyUdpPath(o: LossyPathOptions): Promise<LossyPath> {
  const next = rng(o.seed);
  const record: LossyRecord = { received: 0, impairable: 0, forwarded: 0, dropped: 0, droppedBy: {}, losses: 0, reverse: 0 };
  const burstMax = o.burstMax ?? 1;
  let burstLeft = 0;
  let gapLeft = 0;
  const drop = (d: Buffer): boolean => {
    if (o.impairable && !o.impairable(d)) return false;
    record.impairable++;
    let dropIt = false;
    if (record.impairable <= (o.dropFirst ?? 0)) {
      dropIt = true;
    } else if (burstLeft > 0) {
      burstLeft--;
      dropIt = true;
    } else if (gapLeft > 0) {
      gapLeft--;
    } else if (next() < o.loss) {
      record.losses++;
      burstLeft = Math.floor(next() * burstMax); // this one plus 0..burstMax-1 more
      gapLeft = o.minGap ?? 0;
      dropIt = true;
    }
    if (dropIt) {
      record.dropped++;
      const l = o.label?.(d) ?? 'all';
      record.droppedBy[l] = (record.droppedBy[l] ?? 0) + 1;
    }
    return dropIt;
  };
  const sockets: dgram.Socket[] = [];
  const open = async (port: number, group?: string): Promise<dgram.Socket | undefined> => {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    s.on('error', () => {});
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(port, group ?? '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      s.close();
      return undefined;
    }
    if (group) s.addMembership(group, '127.0.0.1');
    sockets.push(s);
    return s;
  };
  const closeOne = (s: dgram.Socket): void => {
    sockets.splice(sockets.indexOf(s), 1);
    s.close();
  };
  // The listening port(s): one, or an even/odd pair (bounded tries for a free pair).
  let listen: dgram.Socket[] = [];
  for (let tries = 0; tries < 50 && listen.length === 0; tries++) {
    const first = await open(o.ports === 2 ? 20000 + 2 * Math.floor(Math.random() * 20000) : 0, o.fromGroup);
    if (!first) continue;
    if (o.ports !== 2) listen = [first];
    else {
      const second = await open(first.address().port + 1, o.fromGroup);
      if (second) listen = [first, second];
      else closeOne(first);
    }
  }
  if (listen.length === 0) throw new Error('no free UDP port pair for the lossy path');
  for (const [i, s] of listen.entries()) {
    const up = (await open(0))!;
    if (o.toGroup) up.setMulticastInterface('127.0.0.1');
    let client: dgram.RemoteInfo | undefined;
    s.on('message', (d, from) => {
      client = from;
      record.received++;
      if (i === 0 && drop(d)) return;
      record.forwarded++;
      up.send(d, o.toPort + i, o.toGroup ?? '127.0.0.1');
    });
    up.on('message', (d) => {
      if (!client) return;
      record.reverse++;
      s.send(d, client.port, client.address);
    });
  }
  return {
    port: listen[0]!.address().port,
    record,
    close: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
