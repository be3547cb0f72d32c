/**
 * Stop-and-wait flow control for unicast UDP (`send --flow ack` / `recv --flow ack`; the seeds'
 * 停等式流控, closed-loop flow control): the sender marks each data and end-of-stream chunk
 * "acknowledge me" (flags bit 0), sends it, and sends nothing more until the receiver has
 * acknowledged it, retransmitting on a timeout. The receiver answers with a heartbeat chunk
 * carrying the same channel and sequence number and flags bit 1, and holds that answer back
 * while its decoder's buffer is full: a slow receiver slows the sender down, never the
 * other way round; meanwhile it answers a retransmission with a "busy" heartbeat (flags bits
 * 1 and 2) so that the sender keeps waiting instead of giving up. Throughput is at most one chunk per round trip (docs/repair.md).
 *
 * Both are ordinary ipcast chunks (docs/protocol.md: flags): a receiver that ignores the
 * flags still reads the stream; a sender without an answer gives up after its retries.
 */
import { crc32c } from './crc32c.js';
import { HEADER_BYTES, Kind, encodeChunk } from './protocol.js';

export const FLAG_ACK_REQUEST = 0x1;
export const FLAG_ACK = 0x2;
/** With FLAG_ACK: "received, but my decoder is behind; keep waiting" (no give-up meanwhile). */
export const FLAG_BUSY = 0x4;

const MAGIC = 0x49504331;
const FLAGS_AT = 24;
const CHECKSUM_AT = 28;

/** A copy of `chunk` with the "acknowledge me" flag set and its checksum recomputed. */
export function withAckRequest(chunk: Buffer): Buffer {
  const out = Buffer.from(chunk);
  out.writeUInt32BE((out.readUInt32BE(FLAGS_AT) | FLAG_ACK_REQUEST) >>> 0, FLAGS_AT);
  out.writeUInt32BE(0, CHECKSUM_AT);
  out.writeUInt32BE(crc32c(out), CHECKSUM_AT);
  return out;
}

export function ackFor(channel: number, sequence: number, busy = false): Buffer {
  return encodeChunk({ kind: Kind.Heartbeat, channel, sequence, timestampUs: 0, flags: FLAG_ACK | (busy ? FLAG_BUSY : 0) });
}

/** The channel and sequence an acknowledgement answers, or undefined when `buf` is not one. */
export function parseAck(buf: Buffer): { channel: number; sequence: number; busy: boolean } | undefined {
  if (buf.length < HEADER_BYTES || buf.readUInt32BE(0) !== MAGIC || buf[5] !== Kind.Heartbeat) return undefined;
  const flags = buf.readUInt32BE(FLAGS_AT);
  if ((flags & FLAG_ACK) === 0) return undefined;
  return { channel: buf.readUInt16BE(6), sequence: buf.readUInt32BE(12), busy: (flags & FLAG_BUSY) !== 0 };
}

/** Does this chunk (header at 0) ask to be acknowledged? Its channel and sequence if so. */
export function ackRequested(buf: Buffer): { channel: number; sequence: number } | undefined {
  if (buf.length < HEADER_BYTES || (buf.readUInt32BE(FLAGS_AT) & FLAG_ACK_REQUEST) === 0) return undefined;
  return { channel: buf.readUInt16BE(6), sequence: buf.readUInt32BE(12) };
}
