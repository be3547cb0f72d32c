/**
 * RTP in (`rtp://@GROUP:PORT?iface=ADDR`, `rtp://@:PORT` on recv and relay): each datagram's
 * RTP header is checked (packet.ts: version 2, CSRC list, extension and padding within the
 * datagram) and stripped, and what is left becomes a data chunk of the receiver's own kind, so
 * the rest of the JS path treats it as any other chunk:
 *
 *   channel     1 (an RTP session carries one stream)
 *   sequence    the RTP sequence number extended to 32 bits (packet.ts SequenceExtender): it
 *               drives the loss / reorder / duplicate accounting of sequence-tracker.ts
 *   timestamp   the arrival time (RTP's clock is not a wall clock): the end-to-end latency of
 *               an RTP stream is measured from the datagram's arrival
 *   payload     the bytes after the header, to the decoder as `--format raw` hands them
 *
 * A new SSRC is a new stream (a restarted sender): `restarted` tells the caller to start its
 * sequence count over. Datagrams that fail the checks are counted by reason (RTP_REASONS).
 */
import { Kind, type Chunk } from '../shared/protocol.js';
import { parseRtp, SequenceExtender, type RtpReason } from './packet.js';

export type { RtpReason };

export const RTP_CHANNEL = 1;

export type Depacketized = { ok: true; chunk: Chunk; restarted: boolean; payloadType: number } | { ok: false; reason: RtpReason };

export class RtpDepacketizer {
  private readonly sequence = new SequenceExtender();

  constructor(private readonly clockUs: () => number = () => Math.floor((performance.timeOrigin + performance.now()) * 1000)) {}

  push(datagram: Buffer): Depacketized {
    const r = parseRtp(datagram);
    if (!r.ok) return r;
    const { extended, restarted } = this.sequence.extend(r.header.sequence, r.header.ssrc);
    return {
      ok: true,
      restarted,
      payloadType: r.header.payloadType,
      // A copy: the input may reuse the datagram's memory, and the reorder window may hold the chunk.
      chunk: { kind: Kind.Data, channel: RTP_CHANNEL, sequence: extended, timestampUs: this.clockUs(), flags: 0, checksum: 0, payload: Buffer.from(r.payload) },
    };
  }
}

/** What a receiver does with RTP datagrams: counted as received, depacketized, then its own. */
export interface RtpSink {
  stats: { chunksReceived: number; bytesReceived: number };
  chunk(c: Chunk): void;
  error(reason: RtpReason): void;
  /** A new SSRC: the sequence count starts over. */
  restarted(): void;
}

export function rtpDatagramHandler(sink: RtpSink): (datagram: Buffer) => void {
  const rtp = new RtpDepacketizer();
  return (datagram) => {
    sink.stats.chunksReceived++;
    sink.stats.bytesReceived += datagram.length;
    const r = rtp.push(datagram);
    if (!r.ok) return sink.error(r.reason);
    if (r.restarted) sink.restarted();
    sink.chunk(r.chunk);
  };
}
