import { describe, expect, it } from 'vitest';

import { TokenBucket, defaultBurstBytes } from '../../../src/sender/token-bucket.js';

class FakeClock {
  t = 0;
  now = (): number => this.t;
}

describe('TokenBucket (fake clock)', () => {
  it('starts empty; after an idle spell lets a full burst go at once, then makes the caller wait exactly', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(8000, 2000, clock); // 1000 bytes/s = 1 byte/ms
    expect(b.available()).toBe(0);
    expect(b.reserve(100)).toBeCloseTo(100, 9);
    clock.t = 5000;
    expect(b.reserve(1000)).toBe(0);
    expect(b.reserve(1000)).toBe(0);
    expect(b.reserve(500)).toBeCloseTo(500, 9); // 500 bytes of debt at 1 byte/ms
    clock.t = 5500;
    expect(b.available()).toBeCloseTo(0, 9);
  });

  it('paces a long run to the rate, whatever the timer lateness (credited up to the burst)', () => {
    const clock = new FakeClock();
    const rate = 1_000_000; // 125 bytes/ms
    const b = new TokenBucket(rate, 4 * 1316, clock);
    let sent = 0;
    // Sleep what reserve() says, plus a jittery lateness of 0..3 ms, like setTimeout.
    for (let i = 0; i < 10_000; i++) {
      const wait = b.reserve(1316);
      if (wait > 0) clock.t += wait + ((i * 7) % 4);
      sent += 1316;
    }
    const achieved = (sent * 8) / (clock.t / 1000);
    expect(Math.abs(achieved - rate) / rate).toBeLessThan(0.01);
  });

  it('bounds the burst after an idle spell', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(8000, 3000, clock);
    b.reserve(3000);
    clock.t = 1_000_000; // long idle
    expect(b.available()).toBe(3000);
    expect(b.reserve(3000)).toBe(0);
    expect(b.reserve(1)).toBeGreaterThan(0);
  });

  it('an unpaced bucket never waits', () => {
    const b = new TokenBucket(Infinity, 1316, new FakeClock());
    for (let i = 0; i < 100; i++) expect(b.reserve(65_000)).toBe(0);
  });

  it('rejects a zero rate and a zero burst', () => {
    expect(() => new TokenBucket(0, 100)).toThrow(RangeError);
    expect(() => new TokenBucket(1000, 0)).toThrow(/burstBytes/);
  });

  it('the default burst is 50 ms of stream, at least two chunks', () => {
    expect(defaultBurstBytes(8_000_000, 1348)).toBe(50_000);
    expect(defaultBurstBytes(320_000, 1348)).toBe(2696);
    expect(defaultBurstBytes(Infinity, 1348)).toBe(2696);
  });
});
