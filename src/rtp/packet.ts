/**
 * RTP fixed header (RFC 3550 section 5.1), 12 bytes, network byte order:
 *
 *    0                   1                   2                   3
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |           synchronization source (SSRC) identifier            |
 *   |            contributing source (CSRC) identifiers (CC x 4)    |
 *   [ header extension: u16 profile, u16 length in words, words ]  (X)
 *   payload ... [ padding, its count in the last byte ]             (P)
 *
 * MPEG-TS goes as RFC 2250 says: payload type 33 (MP2T), a 90 kHz clock, whole 188-byte TS
 * packets in each datagram, no header of its own. The parser checks every length against the
 * datagram before it reads (the datagram crossed a network).
 */
export const RTP_HEADER_BYTES = 12;
export const RTP_VERSION = 2;
/** RFC 3551: MP2T, MPEG-2 transport stream, 90 kHz. */
export const PT_MP2T = 33;
/** ipcast's dynamic payload type for anything that is not MPEG-TS (bytes as they are). */
export const PT_DYNAMIC = 96;
export const RTP_CLOCK_HZ = 90_000;

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export function writeRtpHeader(h: RtpHeader, out: Buffer, offset = 0): void {
  out[offset] = RTP_VERSION << 6;
  out[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequence & 0xffff, offset + 2);
  out.writeUInt32BE(h.timestamp >>> 0, offset + 4);
  out.writeUInt32BE(h.ssrc >>> 0, offset + 8);
}

/** Stable reasons an RTP datagram is dropped; the `reason` label of ipcast_decode_errors_total. */
export const RTP_REASONS = ['rtp_too_short', 'rtp_bad_version', 'rtp_bad_padding', 'rtp_bad_extension'] as const;
export type RtpReason = (typeof RTP_REASONS)[number];

export type RtpParse = { ok: true; header: RtpHeader; payload: Buffer } | { ok: false; reason: RtpReason };

export function parseRtp(buf: Buffer): RtpParse {
  if (buf.length < RTP_HEADER_BYTES) return { ok: false, reason: 'rtp_too_short' };
  const b0 = buf[0]!;
  if (b0 >> 6 !== RTP_VERSION) return { ok: false, reason: 'rtp_bad_version' };
  let start = RTP_HEADER_BYTES + (b0 & 0x0f) * 4;
  if (start > buf.length) return { ok: false, reason: 'rtp_too_short' };
  if (b0 & 0x10) {
    if (start + 4 > buf.length) return { ok: false, reason: 'rtp_bad_extension' };
    start += 4 + buf.readUInt16BE(start + 2) * 4;
    if (start > buf.length) return { ok: false, reason: 'rtp_bad_extension' };
  }
  let end = buf.length;
  if (b0 & 0x20) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || end - pad < start) return { ok: false, reason: 'rtp_bad_padding' };
    end -= pad;
  }
  return {
    ok: true,
    header: {
      payloadType: buf[1]! & 0x7f,
      marker: (buf[1]! & 0x80) !== 0,
      sequence: buf.readUInt16BE(2),
      timestamp: buf.readUInt32BE(4),
      ssrc: buf.readUInt32BE(8),
    },
    payload: buf.subarray(start, end),
  };
}

/**
 * Extends 16-bit RTP sequence numbers to a running 32-bit count (RFC 3550 appendix A.1's
 * cycle counting): a number within 2^15 ahead of the last is taken as forward (a wrap adds a
 * cycle), one behind as late. A new SSRC starts a new count.
 */
export class SequenceExtender {
  private last = -1;
  private cycles = 0;
  private ssrc = -1;

  /** The extended number; `restarted` when the SSRC changed (a new stream). */
  extend(seq: number, ssrc: number): { extended: number; restarted: boolean } {
    let restarted = false;
    if (ssrc !== this.ssrc) {
      restarted = this.ssrc !== -1;
      this.ssrc = ssrc;
      this.last = -1;
      this.cycles = 0;
    }
    if (this.last < 0) {
      this.last = seq;
      return { extended: seq, restarted };
    }
    const delta = (seq - this.last) & 0xffff;
    if (delta < 0x8000) {
      if (seq < this.last) this.cycles += 0x10000;
      this.last = seq;
      return { extended: (this.cycles + seq) >>> 0, restarted };
    }
    // Behind the last: the same cycle, unless the last wrapped and this one is from before.
    const cycles = seq > this.last ? this.cycles - 0x10000 : this.cycles;
    return { extended: (Math.max(0, cycles) + seq) >>> 0, restarted };
  }
}
