/**
 * A token bucket counted in bytes: `rate` bits per second fill it, at most `burstBytes`
 * accumulate while the sender is idle, and every send takes its size out.
 *
 * `reserve(n)` always succeeds and returns how long to wait (ms) before sending the n bytes:
 * the bucket may go into debt, so a caller that sleeps the returned time and sends is paced
 * exactly on average even when its timer fires late (the lateness is credited back as tokens,
 * up to the burst bound). It starts empty, so a stream does not begin with a burst. Pure: the clock is injected, so tests drive it by hand.
 */
export interface Clock {
  /** Milliseconds from any fixed origin; must never go backwards. */
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

export class TokenBucket {
  /** Bytes per millisecond; Infinity for an unpaced stream. */
  private readonly bytesPerMs: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly rateBitsPerSecond: number,
    readonly burstBytes: number,
    private readonly clock: Clock = monotonicClock,
  ) {
    if (!(rateBitsPerSecond > 0)) throw new RangeError(`Expected a rate above zero, got ${rateBitsPerSecond}`);
    if (!(burstBytes > 0)) throw new RangeError(`Expected burstBytes above zero, got ${burstBytes}`);
    this.bytesPerMs = rateBitsPerSecond / 8 / 1000;
    // Starts empty: the stream begins at its rate, not with a burst.
    this.tokens = 0;
    this.last = clock.now();
  }

  /** Tokens (bytes) available now; negative while in debt. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `bytes` and returns the milliseconds to wait before sending them (0 = now). */
  reserve(bytes: number): number {
    if (this.bytesPerMs === Infinity) return 0;
    this.refill();
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.last;
    this.last = now;
    if (this.bytesPerMs === Infinity) this.tokens = this.burstBytes;
    else if (elapsed > 0) this.tokens = Math.min(this.burstBytes, this.tokens + elapsed * this.bytesPerMs);
  }
}

/**
 * The default burst: 50 ms of stream, and at least two chunks (header included). Enough to
 * catch up after the event loop was held up for a moment (a busy machine, a GC pause) without
 * losing rate; small enough for a receiver's buffer.
 */
export const DEFAULT_BURST_SECONDS = 0.05;
export function defaultBurstBytes(rateBitsPerSecond: number, chunkBytes: number): number {
  const burst = rateBitsPerSecond === Infinity ? 0 : (rateBitsPerSecond / 8) * DEFAULT_BURST_SECONDS;
  return Math.max(2 * chunkBytes, Math.ceil(burst));
}
