/**
 * The record that carries one chunk from the receiver to the sink over any IPC transport:
 * the TypeScript mirror of native/ipc_record.h (little-endian, 40-byte header + payload).
 * The addon builds records itself (it stamps the hand-off time as the record enters the
 * transport); this mirror is for tests and tools that craft or inspect records.
 */
import { hrtime } from 'node:process';

import { crc32c } from '../shared/crc32c.js';

export const RECORD_MAGIC = 0x43525049; // bytes "IPRC"
export const RECORD_HEADER_BYTES = 40;
export const RECORD_FLAG_EOS = 0x0001;
export const RECORD_MAX_PAYLOAD = 16 * 1024 * 1024;

export interface RecordHeader {
  flags: number;
  length: number;
  crc: number;
  sequence: bigint;
  /** CLOCK_MONOTONIC ns (hrtime.bigint()) when the writer handed the record off. */
  handoffNs: bigint;
  /** Sender's timestamp, µs since the epoch; 0n when unknown. */
  senderUs: bigint;
}

export function encodeRecord(
  payload: Uint8Array,
  h: { sequence: bigint | number; flags?: number; handoffNs?: bigint; senderUs?: bigint | number; crc?: number },
): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt16LE(h.flags ?? 0, 4);
  out.writeUInt16LE(RECORD_HEADER_BYTES, 6);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(h.crc ?? crc32c(payload), 12);
  out.writeBigUInt64LE(BigInt(h.sequence), 16);
  out.writeBigUInt64LE(h.handoffNs ?? hrtime.bigint(), 24);
  out.writeBigUInt64LE(BigInt(h.senderUs ?? 0), 32);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

export type RecordDecodeResult = { ok: true; header: RecordHeader } | { ok: false; reason: string };

/** Validates magic, header length, flags and length before returning anything (as the sink does). */
export function decodeRecordHeader(buf: Uint8Array): RecordDecodeResult {
  if (buf.length < RECORD_HEADER_BYTES) return { ok: false, reason: 'short' };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32LE(0) !== RECORD_MAGIC) return { ok: false, reason: 'bad_magic' };
  if (b.readUInt16LE(6) !== RECORD_HEADER_BYTES) return { ok: false, reason: 'bad_header_length' };
  const flags = b.readUInt16LE(4);
  if (flags & ~RECORD_FLAG_EOS) return { ok: false, reason: 'bad_flags' };
  const length = b.readUInt32LE(8);
  if (length > RECORD_MAX_PAYLOAD) return { ok: false, reason: 'too_long' };
  return {
    ok: true,
    header: {
      flags,
      length,
      crc: b.readUInt32LE(12),
      sequence: b.readBigUInt64LE(16),
      handoffNs: b.readBigUInt64LE(24),
      senderUs: b.readBigUInt64LE(32),
    },
  };
}
