/**
 * The built-in test signal: a WAV stream of a sine, 44.1 kHz, 16-bit, mono (705.6 kbit/s),
 * so a demo and the tests need no media file. Infinite unless given a duration; an infinite
 * WAV says so the way streaming encoders do, with 0xFFFFFFFF in its size fields.
 */
export const TONE_SAMPLE_RATE = 44_100;
export const TONE_CHANNELS = 1;
export const TONE_BITS = 16;
export const TONE_BYTE_RATE = TONE_SAMPLE_RATE * TONE_CHANNELS * (TONE_BITS / 8);
export const TONE_BITRATE = TONE_BYTE_RATE * 8;
export const WAV_HEADER_BYTES = 44;
export const DEFAULT_TONE_HZ = 440;

export interface ToneOptions {
  hz: number;
  /** Seconds of audio; undefined = forever. */
  seconds?: number;
  /** Peak amplitude, 0..1 (default 0.5). */
  amplitude?: number;
}

export function wavHeader(dataBytes: number | undefined): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const size = dataBytes === undefined ? 0xffffffff : dataBytes;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(dataBytes === undefined ? 0xffffffff : Math.min(0xffffffff, 36 + size), 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16); // PCM fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(TONE_CHANNELS, 22);
  h.writeUInt32LE(TONE_SAMPLE_RATE, 24);
  h.writeUInt32LE(TONE_BYTE_RATE, 28);
  h.writeUInt16LE(TONE_CHANNELS * (TONE_BITS / 8), 32); // block align
  h.writeUInt16LE(TONE_BITS, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(size, 40);
  return h;
}

/**
 * Yields the WAV stream in pieces of exactly `chunkBytes` (the last one of a finite tone may
 * be shorter). Each piece is a new buffer.
 */
export function* toneChunks(opts: ToneOptions, chunkBytes: number): Generator<Buffer> {
  const amplitude = Math.round(32767 * (opts.amplitude ?? 0.5));
  const step = (2 * Math.PI * opts.hz) / TONE_SAMPLE_RATE;
  const dataBytes = opts.seconds === undefined ? undefined : Math.round(opts.seconds * TONE_SAMPLE_RATE) * 2;
  const header = wavHeader(dataBytes);
  let remaining = dataBytes === undefined ? Infinity : WAV_HEADER_BYTES + dataBytes;
  let headerOff = 0;
  let sample = 0;
  let odd: number | null = null; // the second byte of a sample split across two chunks
  while (remaining > 0) {
    const n = Math.min(chunkBytes, remaining);
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n && headerOff < WAV_HEADER_BYTES) out[o++] = header[headerOff++]!;
    if (o < n && odd !== null) {
      out[o++] = odd;
      odd = null;
    }
    while (o + 2 <= n) {
      out.writeInt16LE(Math.round(amplitude * Math.sin(step * sample)), o);
      sample = (sample + 1) % TONE_SAMPLE_RATE; // whole seconds keep the phase exact
      o += 2;
    }
    if (o < n) {
      const v = Math.round(amplitude * Math.sin(step * sample)) & 0xffff;
      sample = (sample + 1) % TONE_SAMPLE_RATE;
      out[o++] = v & 0xff;
      odd = v >> 8;
    }
    remaining -= n;
    yield out;
  }
}
