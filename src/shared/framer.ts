/**
 * Cuts a TCP byte stream back into chunks, however the stream splits or joins them.
 *
 * States, as in ws's receiver: wait for a header (32 bytes) -> check magic, version, kind and
 * the length against `maxFrameBytes` BEFORE waiting for (and so buffering) the payload ->
 * wait for the payload -> verify the checksum -> emit. On any rejection the framer reports
 * one error and resynchronises by scanning for the next magic; errors met while still
 * resynchronising are not counted again, so one bad stretch is one error, and the good
 * chunk after it is delivered.
 *
 * Memory is bounded: at most one partial frame (<= maxFrameBytes) is held.
 */
import {
  DEFAULT_MAX_FRAME_BYTES,
  HEADER_BYTES,
  MAGIC,
  decodeChunk,
  peekHeader,
  type Chunk,
  type DecodeReason,
} from './protocol.js';

const MAGIC_BYTES = Buffer.from([(MAGIC >>> 24) & 0xff, (MAGIC >>> 16) & 0xff, (MAGIC >>> 8) & 0xff, MAGIC & 0xff]);
const EMPTY = Buffer.alloc(0);

export interface FramerHandlers {
  chunk(chunk: Chunk): void;
  error(reason: DecodeReason): void;
}

export class ChunkFramer {
  private pending: Buffer = EMPTY;
  private resyncing = false;

  constructor(
    private readonly handlers: FramerHandlers,
    readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {
    if (!(maxFrameBytes >= HEADER_BYTES)) {
      throw new RangeError(`Expected maxFrameBytes to be at least ${HEADER_BYTES}, got ${maxFrameBytes}`);
    }
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(data: Buffer): void {
    const buf = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let off = 0;
    for (;;) {
      if (buf.length - off < HEADER_BYTES) break;
      const length = peekHeader(buf, off);
      if (typeof length === 'string') {
        off = this.reject(length, buf, off);
        continue;
      }
      if (length > this.maxFrameBytes - HEADER_BYTES) {
        off = this.reject('frame_too_large', buf, off);
        continue;
      }
      const end = off + HEADER_BYTES + length;
      if (end > buf.length) break;
      const result = decodeChunk(buf.subarray(off, end));
      if (!result.ok) {
        off = this.reject(result.reason, buf, off);
        continue;
      }
      this.resyncing = false;
      off = end;
      this.handlers.chunk(result.chunk);
    }
    this.pending = off >= buf.length ? EMPTY : buf.subarray(off);
  }

  /** Counts the error once per bad stretch and returns the offset of the next candidate magic. */
  private reject(reason: DecodeReason, buf: Buffer, off: number): number {
    if (!this.resyncing) this.handlers.error(reason);
    this.resyncing = true;
    const next = buf.indexOf(MAGIC_BYTES, off + 1);
    // Not found: keep the last 3 bytes, which may be the start of a magic split across reads.
    return next >= 0 ? next : Math.max(off + 1, buf.length - (MAGIC_BYTES.length - 1));
  }
}
