/**
 * Measures a stream's bitrate from the first bytes of a file, where the format says it:
 *   - WAV: the byte rate in the `fmt ` chunk;
 *   - MP3: a Xing/Info header in the first frame (average over the whole file), else the
 *     bitrate of the first frame (CBR); an ID3v2 tag in front is skipped;
 *   - MPEG-TS: the bytes between the first and last PCR of one PID over the 27 MHz clock.
 * Everything here reads a buffer that came from a file: every offset is checked first.
 * Returns null when the format is not recognised or does not tell.
 */
export interface MeasuredRate {
  bitsPerSecond: number;
  /** How the rate was found, for the one line the sender prints. */
  how: string;
}

/** How many bytes of the head of a file the measurement reads. */
export const MEASURE_BYTES = 2 * 1024 * 1024;

export function measureBitrate(head: Buffer): MeasuredRate | null {
  return measureWav(head) ?? measureTs(head) ?? measureMp3(head);
}

export function measureWav(b: Buffer): MeasuredRate | null {
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') return null;
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      if (off + 8 + 16 > b.length || size < 16) return null;
      const channels = b.readUInt16LE(off + 10);
      const sampleRate = b.readUInt32LE(off + 12);
      const byteRate = b.readUInt32LE(off + 16);
      const bits = b.readUInt16LE(off + 22);
      if (byteRate === 0) return null;
      return {
        bitsPerSecond: byteRate * 8,
        how: `WAV header: ${sampleRate} Hz, ${bits}-bit, ${channels} channel${channels === 1 ? '' : 's'}`,
      };
    }
    off += 8 + size + (size & 1);
  }
  return null;
}

const TS_PACKET = 188;
const PCR_HZ = 27_000_000;

export function measureTs(b: Buffer): MeasuredRate | null {
  // Sync: 0x47 at the start of three consecutive packets.
  let start = -1;
  for (let i = 0; i < Math.min(TS_PACKET, b.length); i++) {
    if (b[i] === 0x47 && b[i + TS_PACKET] === 0x47 && b[i + 2 * TS_PACKET] === 0x47) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  let pcrPid = -1;
  let first: { off: number; pcr: number } | null = null;
  let last: { off: number; pcr: number } | null = null;
  for (let off = start; off + TS_PACKET <= b.length; off += TS_PACKET) {
    if (b[off] !== 0x47) break;
    const pid = ((b[off + 1]! & 0x1f) << 8) | b[off + 2]!;
    const afc = (b[off + 3]! >> 4) & 0x3;
    if (afc !== 2 && afc !== 3) continue;
    const afLen = b[off + 4]!;
    if (afLen < 7 || !(b[off + 5]! & 0x10)) continue;
    if (pcrPid >= 0 && pid !== pcrPid) continue;
    const p = off + 6;
    // 33-bit base (90 kHz) then 6 reserved bits and a 9-bit extension (27 MHz).
    const base = b[p]! * 2 ** 25 + (b[p + 1]! << 17) + (b[p + 2]! << 9) + (b[p + 3]! << 1) + (b[p + 4]! >> 7);
    const ext = ((b[p + 4]! & 1) << 8) | b[p + 5]!;
    const pcr = base * 300 + ext;
    pcrPid = pid;
    if (!first) first = { off, pcr };
    else last = { off, pcr };
  }
  if (!first || !last || last.pcr <= first.pcr) return null;
  const seconds = (last.pcr - first.pcr) / PCR_HZ;
  const bits = (last.off - first.off) * 8;
  return { bitsPerSecond: Math.round(bits / seconds), how: `MPEG-TS PCR on PID ${pcrPid} over ${seconds.toFixed(2)} s` };
}

// [version][layer] tables, MPEG-1 / MPEG-2 / MPEG-2.5; layer index 1 = III, 2 = II, 3 = I.
const BITRATES_V1: Record<number, number[]> = {
  3: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
};
const BITRATES_V2: Record<number, number[]> = {
  3: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  1: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface Mp3Frame {
  bitrateKbps: number;
  sampleRate: number;
  samplesPerFrame: number;
  mono: boolean;
  v1: boolean;
  /** Bytes in this frame, header included. */
  length: number;
}

function parseMp3Frame(b: Buffer, off: number): Mp3Frame | null {
  if (off + 4 > b.length || b[off] !== 0xff || (b[off + 1]! & 0xe0) !== 0xe0) return null;
  const version = (b[off + 1]! >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
  const layer = (b[off + 1]! >> 1) & 3;
  const brIndex = b[off + 2]! >> 4;
  const srIndex = (b[off + 2]! >> 2) & 3;
  if (version === 1 || layer === 0 || brIndex === 0 || brIndex === 15 || srIndex === 3) return null;
  const v1 = version === 3;
  const bitrateKbps = (v1 ? BITRATES_V1 : BITRATES_V2)[layer]![brIndex]!;
  const sampleRate = SAMPLE_RATES[version]![srIndex]!;
  const samplesPerFrame = layer === 3 ? 384 : layer === 2 || v1 ? 1152 : 576;
  const padding = (b[off + 2]! >> 1) & 1;
  const length =
    layer === 3
      ? (Math.floor((12 * bitrateKbps * 1000) / sampleRate) + padding) * 4
      : Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + padding;
  return { bitrateKbps, sampleRate, samplesPerFrame, mono: b[off + 3]! >> 6 === 3, v1, length };
}

const CONFIRM_FRAMES = 4;

function confirmMp3Chain(b: Buffer, off: number, first: Mp3Frame): boolean {
  let at = off + first.length;
  for (let n = 1; n < CONFIRM_FRAMES; n++) {
    // The data ends here: on a frame boundary, or inside a frame after a confirmed pair (a
    // truncated last frame); a lone header whose frame runs past the end is not evidence.
    if (at === b.length || (at > b.length && n >= 2)) return true;
    if (at > b.length) return false;
    const f = parseMp3Frame(b, at);
    if (!f || f.sampleRate !== first.sampleRate || f.v1 !== first.v1 || f.samplesPerFrame !== first.samplesPerFrame) return false;
    at += f.length;
  }
  return true;
}

export function measureMp3(b: Buffer): MeasuredRate | null {
  let off = 0;
  if (b.length >= 10 && b.toString('latin1', 0, 3) === 'ID3') {
    const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
    off = 10 + size + (b[5]! & 0x10 ? 10 : 0);
  }
  // The first frame header within 64 KiB of the tag that starts a chain of CONFIRM_FRAMES
  // frames of the same version, layer and sample rate, each right after the other (or ending
  // at the end of the data), so a random binary file is not taken for MP3 (one confirming
  // header let 166 of 2000 random 30 KB files through).
  const limit = Math.min(b.length - 4, off + 64 * 1024);
  let frame: Mp3Frame | null = null;
  for (; off <= limit; off++) {
    frame = parseMp3Frame(b, off);
    if (frame && confirmMp3Chain(b, off, frame)) break;
    frame = null;
  }
  if (!frame) return null;
  // Xing/Info sits after the side information: 32/17 bytes (MPEG-1 stereo/mono), 17/9 (MPEG-2).
  const side = frame.v1 ? (frame.mono ? 17 : 32) : frame.mono ? 9 : 17;
  const x = off + 4 + side;
  if (x + 16 <= b.length) {
    const tag = b.toString('latin1', x, x + 4);
    if (tag === 'Xing' || tag === 'Info') {
      const flags = b.readUInt32BE(x + 4);
      if ((flags & 3) === 3) {
        const frames = b.readUInt32BE(x + 8);
        const bytes = b.readUInt32BE(x + 12);
        const seconds = (frames * frame.samplesPerFrame) / frame.sampleRate;
        if (frames > 0 && bytes > 0 && seconds > 0) {
          return { bitsPerSecond: Math.round((bytes * 8) / seconds), how: `MP3 ${tag} header: ${frames} frames, ${frame.sampleRate} Hz` };
        }
      }
    }
  }
  return { bitsPerSecond: frame.bitrateKbps * 1000, how: `MP3 frame header: ${frame.bitrateKbps} kbit/s, ${frame.sampleRate} Hz` };
}

/** 705600 -> "705.6 kbit/s". */
export function formatRate(bps: number): string {
  if (bps === Infinity) return 'max (unpaced)';
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(3)} Mbit/s`;
  if (bps >= 1e3) return `${+(bps / 1e3).toFixed(1)} kbit/s`;
  return `${bps} bit/s`;
}
