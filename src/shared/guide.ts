/**
 * The channel guide: the payload of a kind-2 chunk on channel 0 (docs/protocol.md).
 *
 *   u16 count, then per channel:
 *   u16 id (1..65535) | u32 bitrate (bits/s, 0 = unknown) | u8 name length | name (UTF-8)
 *   | u16 description length | description (UTF-8)
 *
 * The guide crosses the network: every length is checked against what is left before it is read.
 */
export interface ChannelInfo {
  id: number;
  name: string;
  description: string;
  bitrate: number;
}

export const MAX_NAME_BYTES = 255;
export const MAX_DESCRIPTION_BYTES = 1024;

export function encodeGuide(channels: readonly ChannelInfo[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeUInt16BE(channels.length);
  parts.push(count);
  for (const ch of channels) {
    const name = truncateUtf8(ch.name, MAX_NAME_BYTES);
    const desc = truncateUtf8(ch.description, MAX_DESCRIPTION_BYTES);
    const fixed = Buffer.alloc(7);
    fixed.writeUInt16BE(ch.id, 0);
    fixed.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.round(ch.bitrate))), 2);
    fixed[6] = name.length;
    const dlen = Buffer.alloc(2);
    dlen.writeUInt16BE(desc.length);
    parts.push(fixed, name, dlen, desc);
  }
  return Buffer.concat(parts);
}

/** Returns the channels, or null when the payload is malformed (reason `bad_guide`). */
export function decodeGuide(buf: Buffer): ChannelInfo[] | null {
  if (buf.length < 2) return null;
  const count = buf.readUInt16BE(0);
  let off = 2;
  const out: ChannelInfo[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.length - off < 7) return null;
    const id = buf.readUInt16BE(off);
    const bitrate = buf.readUInt32BE(off + 2);
    const nameLen = buf[off + 6]!;
    off += 7;
    if (buf.length - off < nameLen + 2) return null;
    const name = buf.toString('utf8', off, off + nameLen);
    off += nameLen;
    const descLen = buf.readUInt16BE(off);
    off += 2;
    if (descLen > MAX_DESCRIPTION_BYTES || buf.length - off < descLen) return null;
    const description = buf.toString('utf8', off, off + descLen);
    off += descLen;
    if (id === 0) return null;
    out.push({ id, name, description, bitrate });
  }
  if (off !== buf.length) return null;
  return out;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(s: string, max: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}
