/**
 * What a channel carries, told from its first payload bytes: the Content-Type an HTTP client
 * gets, and the RTP payload type (33, MP2T, for MPEG-TS; a dynamic one otherwise).
 *
 *   video/mp2t   0x47 sync bytes 188 bytes apart (a chunk of whole TS packets)
 *   audio/wav    'RIFF' .... 'WAVE'
 *   audio/mpeg   'ID3', or an MPEG audio frame header (11 sync bits, layer and bitrate valid)
 *   anything else: application/octet-stream
 */
export type MediaType = 'video/mp2t' | 'audio/mpeg' | 'audio/wav' | 'application/octet-stream';

export const TS_PACKET_BYTES = 188;

export function sniffMediaType(buf: Uint8Array): MediaType {
  if (isTransportStream(buf)) return 'video/mp2t';
  if (buf.length >= 12 && ascii(buf, 0, 4) === 'RIFF' && ascii(buf, 8, 12) === 'WAVE') return 'audio/wav';
  if (buf.length >= 3 && ascii(buf, 0, 3) === 'ID3') return 'audio/mpeg';
  if (findMpegAudioFrame(buf) >= 0) return 'audio/mpeg';
  return 'application/octet-stream';
}

function isTransportStream(buf: Uint8Array): boolean {
  if (buf.length < TS_PACKET_BYTES || buf[0] !== 0x47) return false;
  for (let off = TS_PACKET_BYTES; off < buf.length; off += TS_PACKET_BYTES) if (buf[off] !== 0x47) return false;
  return true;
}

/** An MPEG-1/2 audio frame header at the start (a chunk cut at a frame boundary, as ours are). */
function findMpegAudioFrame(buf: Uint8Array): number {
  if (buf.length < 4) return -1;
  const b1 = buf[1]!;
  const b2 = buf[2]!;
  const sync = buf[0] === 0xff && (b1 & 0xe0) === 0xe0;
  const version = (b1 >> 3) & 3; // 1 is reserved
  const layer = (b1 >> 1) & 3; // 0 is reserved
  const bitrate = b2 >> 4; // 15 is bad
  const rate = (b2 >> 2) & 3; // 3 is reserved
  return sync && version !== 1 && layer !== 0 && bitrate !== 15 && rate !== 3 ? 0 : -1;
}

function ascii(buf: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...buf.subarray(from, to));
}

/**
 * A WAV stream's header, up to and including the 'data' chunk's id and size: a client that
 * joins later gets it first, so its player knows the format. null when `buf` does not hold it.
 */
export function wavHeader(buf: Uint8Array): Buffer | null {
  if (buf.length < 12 || ascii(buf, 0, 4) !== 'RIFF') return null;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = ascii(buf, off, off + 4);
    const size = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readUInt32LE(off + 4);
    if (id === 'data') return Buffer.from(buf.subarray(0, off + 8));
    off += 8 + size + (size & 1);
  }
  return null;
}
