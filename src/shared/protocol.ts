/**
 * The ipcast wire chunk (docs/protocol.md): a 32-byte packed header in network byte
 * order followed by the payload. Same layout as native/wire.h; both are held to the
 * golden vectors in test/fixtures/golden.json.
 *
 *  off size field
 *   0   4   magic      0x49504331 ("IPC1")
 *   4   1   version    1
 *   5   1   kind       1 data, 2 guide, 3 end of stream, 4 heartbeat
 *   6   2   channel    0 = channel guide, 1..65535 = media channels
 *   8   4   length     payload bytes after the header
 *  12   4   sequence   per channel, wraps at 2^32
 *  16   8   timestamp  sender clock, microseconds since the Unix epoch
 *  24   4   flags      0 (reserved; unknown bits are ignored)
 *  28   4   checksum   CRC-32C of the header (this field as zero) and the payload
 *
 * Decoding never throws and never reads past the buffer: it returns a reason code.
 */
import { crc32c } from './crc32c.js';

export const MAGIC = 0x49504331;
export const VERSION = 1;
export const HEADER_BYTES = 32;
/** Where the payload length and the checksum sit in the header. */
export const LENGTH_OFFSET = 8;
export const CHECKSUM_OFFSET = 28;
/** 7 MPEG-TS packets of 188 bytes: what fits a 1500-byte Ethernet MTU with IP/UDP and our header. */
export const DEFAULT_PAYLOAD_BYTES = 1316;
/** The largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP) less our header. */
export const MAX_DATAGRAM_PAYLOAD_BYTES = 65507 - HEADER_BYTES;
/** The largest frame (header + payload) the TCP framer accepts unless told otherwise. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
export const GUIDE_CHANNEL = 0;

export const Kind = { Data: 1, Guide: 2, EndOfStream: 3, Heartbeat: 4 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Stable rejection reasons; they are the `reason` label of ipcast_decode_errors_total. */
export const DECODE_REASONS = [
  'too_short',
  'bad_magic',
  'bad_version',
  'unknown_kind',
  'length_mismatch',
  'checksum_mismatch',
  'frame_too_large',
  'bad_guide',
] as const;
export type DecodeReason = (typeof DECODE_REASONS)[number];

export interface ChunkHeader {
  kind: Kind;
  channel: number;
  sequence: number;
  /** Sender clock in microseconds since the Unix epoch (fits a double exactly until year 2255). */
  timestampUs: number;
  flags?: number;
}

export interface Chunk extends Required<ChunkHeader> {
  /** A view into the decoded buffer: no copy. */
  payload: Buffer;
  checksum: number;
}

export type DecodeResult = { ok: true; chunk: Chunk } | { ok: false; reason: DecodeReason };

/** Writes the header for `payload` into `out` at `offset` (32 bytes). */
export function writeHeader(h: ChunkHeader, payload: Uint8Array, out: Buffer, offset = 0): void {
  out.writeUInt32BE(MAGIC, offset);
  out[offset + 4] = VERSION;
  out[offset + 5] = h.kind;
  out.writeUInt16BE(h.channel, offset + 6);
  out.writeUInt32BE(payload.length, offset + LENGTH_OFFSET);
  out.writeUInt32BE(h.sequence >>> 0, offset + 12);
  out.writeUInt32BE(Math.floor(h.timestampUs / 0x100000000), offset + 16);
  out.writeUInt32BE(h.timestampUs >>> 0, offset + 20);
  out.writeUInt32BE((h.flags ?? 0) >>> 0, offset + 24);
  out.writeUInt32BE(0, offset + CHECKSUM_OFFSET);
  let crc = crc32c(out, 0, offset, offset + HEADER_BYTES);
  crc = crc32c(payload, crc);
  out.writeUInt32BE(crc, offset + CHECKSUM_OFFSET);
}

/** Header + payload in one new buffer. */
/**
 * encodeChunk() with the checksum from another CRC-32C (the addon's, SSE4.2 when the CPU has
 * it): writeHeader lays the header out over no payload (no table work), then the length is
 * set and the CRC of header (checksum zero) + payload written. Same bytes.
 */
export function encodeChunkWithCrc(h: ChunkHeader, payload: Uint8Array, crc: (buf: Uint8Array) => number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.set(payload, HEADER_BYTES);
  writeHeader(h, NO_PAYLOAD, out, 0);
  out.writeUInt32BE(payload.length, LENGTH_OFFSET);
  out.writeUInt32BE(0, CHECKSUM_OFFSET);
  out.writeUInt32BE(crc(out), CHECKSUM_OFFSET);
  return out;
}

const NO_PAYLOAD = new Uint8Array(0);

export function encodeChunk(h: ChunkHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.set(payload, HEADER_BYTES);
  writeHeader(h, payload, out, 0);
  return out;
}

/**
 * Checks the fixed part of a header at `offset` (magic, version, kind) without reading past
 * `buf`. Returns the payload length, or a reason. Shared by decodeChunk and the TCP framer.
 */
export function peekHeader(buf: Buffer, offset: number): number | DecodeReason {
  if (buf.length - offset < HEADER_BYTES) return 'too_short';
  if (buf.readUInt32BE(offset) !== MAGIC) return 'bad_magic';
  if (buf[offset + 4] !== VERSION) return 'bad_version';
  const kind = buf[offset + 5]!;
  if (kind < Kind.Data || kind > Kind.Heartbeat) return 'unknown_kind';
  return buf.readUInt32BE(offset + LENGTH_OFFSET);
}

/** Decodes exactly one chunk occupying all of `buf` (one datagram, or one frame cut by the framer). */
export function decodeChunk(buf: Buffer): DecodeResult {
  const length = peekHeader(buf, 0);
  if (typeof length === 'string') return { ok: false, reason: length };
  if (length !== buf.length - HEADER_BYTES) return { ok: false, reason: 'length_mismatch' };
  const checksum = buf.readUInt32BE(CHECKSUM_OFFSET);
  let crc = crc32c(buf, 0, 0, 28);
  crc = crc32c(ZERO4, crc);
  crc = crc32c(buf, crc, HEADER_BYTES, buf.length);
  if (crc !== checksum) return { ok: false, reason: 'checksum_mismatch' };
  return {
    ok: true,
    chunk: {
      kind: buf[5] as Kind,
      channel: buf.readUInt16BE(6),
      sequence: buf.readUInt32BE(12),
      timestampUs: buf.readUInt32BE(16) * 0x100000000 + buf.readUInt32BE(20),
      flags: buf.readUInt32BE(24),
      checksum,
      payload: buf.subarray(HEADER_BYTES),
    },
  };
}

const ZERO4 = new Uint8Array(4);
