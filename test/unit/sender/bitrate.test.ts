import { describe, expect, it } from 'vitest';

import { measureBitrate, measureMp3, measureTs, measureWav } from '../../../src/sender/bitrate.js';
import { TONE_BITRATE, toneChunks, wavHeader } from '../../../src/sender/tone.js';

/** An MPEG-1 Layer III frame header: 44.1 kHz, stereo, bitrate index `br` (9 = 128 kbit/s). */
function mp3Frame(br: number, body?: (frame: Buffer) => void): Buffer {
  const kbps = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320][br]!;
  const len = Math.floor((144 * kbps * 1000) / 44100);
  const f = Buffer.alloc(len);
  f[0] = 0xff;
  f[1] = 0xfb; // MPEG-1, layer III, no CRC
  f[2] = (br << 4) | (0 << 2); // 44.1 kHz, no padding
  f[3] = 0x00; // stereo
  body?.(f);
  return f;
}

/** `count` TS packets on PID 0x100, one PCR every `every` packets, stepping at `bps`. */
function tsStream(bps: number, count: number, every: number): Buffer {
  const out = Buffer.alloc(188 * count, 0xff);
  for (let i = 0; i < count; i++) {
    const p = out.subarray(i * 188, (i + 1) * 188);
    p[0] = 0x47;
    p[1] = 0x01;
    p[2] = 0x00;
    if (i % every === 0) {
      p[3] = 0x30; // adaptation field + payload
      p[4] = 183 - 176; // adaptation field length 7
      p[5] = 0x10; // PCR flag
      const pcr = Math.round(((i * 188 * 8) / bps) * 27_000_000);
      const base = Math.floor(pcr / 300);
      const ext = pcr % 300;
      p[6] = Math.floor(base / 2 ** 25) & 0xff;
      p[7] = (base >>> 17) & 0xff;
      p[8] = (base >>> 9) & 0xff;
      p[9] = (base >>> 1) & 0xff;
      p[10] = ((base & 1) << 7) | 0x7e | ((ext >> 8) & 1);
      p[11] = ext & 0xff;
    } else {
      p[3] = 0x10;
    }
  }
  return out;
}

describe('measureBitrate', () => {
  it('reads the byte rate of a WAV header', () => {
    const m = measureWav(wavHeader(1000));
    expect(m?.bitsPerSecond).toBe(TONE_BITRATE);
    expect(m?.how).toMatch(/WAV header: 44100 Hz, 16-bit, 1 channel/);
  });

  it('reads a CBR MP3 from its first frame, behind an ID3v2 tag', () => {
    const id3 = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 20, ...new Array(20).fill(0)]);
    const file = Buffer.concat([id3, mp3Frame(9), mp3Frame(9), mp3Frame(9)]);
    expect(measureMp3(file)).toEqual({ bitsPerSecond: 128_000, how: 'MP3 frame header: 128 kbit/s, 44100 Hz' });
  });

  it('prefers the Xing average of a VBR MP3', () => {
    const frames = 1000;
    const bytes = 2_000_000;
    const xing = mp3Frame(9, (f) => {
      f.write('Xing', 36, 'latin1'); // 4 + 32 bytes of side information (MPEG-1 stereo)
      f.writeUInt32BE(3, 40);
      f.writeUInt32BE(frames, 44);
      f.writeUInt32BE(bytes, 48);
    });
    const m = measureMp3(Buffer.concat([xing, mp3Frame(11)]));
    const seconds = (frames * 1152) / 44100;
    expect(m?.bitsPerSecond).toBe(Math.round((bytes * 8) / seconds));
    expect(m?.how).toMatch(/Xing/);
  });

  it('measures MPEG-TS from its PCRs', () => {
    const m = measureTs(tsStream(4_000_000, 2000, 40));
    expect(m).not.toBeNull();
    expect(Math.abs(m!.bitsPerSecond - 4_000_000)).toBeLessThan(4_000); // PCR rounding only
  });

  it('says nothing of bytes that are none of these', () => {
    const noise = Buffer.alloc(100_000);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    expect(measureBitrate(noise)).toBeNull();
    expect(measureBitrate(Buffer.from('hello'))).toBeNull();
    expect(measureBitrate(Buffer.alloc(0))).toBeNull();
  });
});

describe('tone', () => {
  it('a finite tone is a WAV header and exactly SECONDS of samples, in chunk-sized pieces', () => {
    const pieces = [...toneChunks({ hz: 440, seconds: 0.5 }, 1316)];
    const all = Buffer.concat(pieces);
    expect(all.length).toBe(44 + 22050 * 2);
    expect(pieces.slice(0, -1).every((p) => p.length === 1316)).toBe(true);
    expect(all.readUInt32LE(40)).toBe(22050 * 2);
    expect(measureBitrate(all)?.bitsPerSecond).toBe(705_600);
    // The samples are a sine: sample 0 is 0; 1/4 period later (25 samples at 440 Hz ~ 25.06) near the peak.
    expect(all.readInt16LE(44)).toBe(0);
    expect(all.readInt16LE(44 + 25 * 2)).toBeGreaterThan(16_000);
  });

  it('odd chunk sizes split samples without losing a byte', () => {
    const a = Buffer.concat([...toneChunks({ hz: 1000, seconds: 0.1 }, 1315)]);
    const b = Buffer.concat([...toneChunks({ hz: 1000, seconds: 0.1 }, 4096)]);
    expect(a.equals(b)).toBe(true);
  });
});

describe('MP3 detection on random data', () => {
  it('takes none of 2000 seeded random 30 KB buffers for MP3 (a frame must start a chain of four)', () => {
    let state = 0x2545f491;
    const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    let taken = 0;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(30_000);
      for (let k = 0; k < b.length; k++) b[k] = next();
      if (measureMp3(b)) taken++;
    }
    expect(taken).toBe(0);
  });
});
