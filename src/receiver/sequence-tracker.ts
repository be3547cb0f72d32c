/**
 * Puts one channel's chunks back in sequence order and counts what went wrong, by the
 * definitions in docs/receiver.md ("Sequence accounting"), which this file implements exactly.
 *
 * Sequence numbers are uint32 and wrap; differences are taken modulo 2^32 as signed. E (the
 * `expected` field) is the lowest number not yet delivered or given up; every number from the
 * stream's first arrival up to E - 1 has been either delivered once or given up (lost).
 *  - duplicate: the number has already arrived in this stream (a bit per number behind E, the
 *    held map at and above it); dropped, nothing else counted;
 *  - reordered: not a duplicate, and lower than the highest number that arrived before it in
 *    this stream; counted at arrival, whether it can still be put back in order or not;
 *  - the expected number: delivered at once, with the held chunks that follow it;
 *  - ahead of E: held (the chunks waiting). The gap below the lowest held chunk is given up
 *    (its numbers count as lost) when more than `window` chunks wait, or, at a flushStale()
 *    check, while the chunk that has waited longest has waited `maxHoldMs` or more. So a
 *    missing number is given up once more than `window` distinct higher numbers have arrived,
 *    or at the first check at least `maxHoldMs` after the first higher number arrived;
 *  - behind E and not a duplicate (its number was given up, or is older than the stream's
 *    first chunk): late. Counted reordered (see above), not delivered; it stays counted lost;
 *  - behind E with a newer sender timestamp, or 2^16 or more away either way: the sender
 *    restarted; what was held is released (its gaps lost) and a new stream starts here.
 * With `window` 0 (TCP) nothing is held: a gap is given up as soon as a higher number arrives.
 */
export interface SequenceCounts {
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
}

/** Larger jumps than this are a new stream (sender restarted), not loss. */
export const RESTART_DISTANCE = 1 << 16;
/** Numbers behind E remembered as arrived or not: one bit each, the last RESTART_DISTANCE. */
const BEHIND_MASK = RESTART_DISTANCE - 1;

export class SequenceTracker<T> {
  readonly counts: SequenceCounts = { lost: 0, reordered: 0, duplicates: 0, restarts: 0 };
  private expected: number | undefined;
  /** The highest number that has arrived in this stream (for reordered). */
  private highest = 0;
  private readonly held = new Map<number, { item: T; at: number }>();
  /** Bit (n & BEHIND_MASK): number n, behind E, arrived (delivered, or late). */
  private readonly arrivedBehind = new Uint32Array(RESTART_DISTANCE / 32);
  private oldestHeldAt = Infinity;
  private newestTimestamp = -Infinity;

  constructor(
    private readonly window: number,
    private readonly maxHoldMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get heldCount(): number {
    return this.held.size;
  }

  /**
   * Returns the items that can be delivered now, in order. `timestamp` (the sender's clock)
   * tells a restarted sender from a late or duplicate chunk; without it a close step back is
   * never a restart.
   */
  push(sequence: number, item: T, timestamp = -Infinity): T[] {
    const seq = sequence >>> 0;
    const newer = timestamp > this.newestTimestamp;
    if (newer) this.newestTimestamp = timestamp;
    if (this.expected === undefined) return this.startStream(seq, item);
    const diff = (seq - this.expected) | 0;
    if ((diff < 0 && newer) || diff <= -RESTART_DISTANCE || diff >= RESTART_DISTANCE) {
      // A new stream: deliver what was held (gaps lost), then start over at this chunk.
      this.counts.restarts++;
      const out = this.releaseAll();
      out.push(...this.startStream(seq, item));
      return out;
    }
    if (diff < 0) {
      if (this.hasArrivedBehind(seq)) {
        this.counts.duplicates++;
        return [];
      }
      // Late: given up already (or older than the stream). Always below `highest`.
      this.noteArrival(seq);
      this.setArrivedBehind(seq, true);
      return [];
    }
    if (diff > 0 && this.held.has(seq)) {
      this.counts.duplicates++;
      return [];
    }
    this.noteArrival(seq);
    if (diff === 0) {
      const out = [item];
      this.advance(true);
      this.drainConsecutive(out);
      return out;
    }
    if (this.window === 0) {
      // Nothing is held (TCP): the gap is given up at once.
      this.skip(diff);
      this.advance(true);
      return [item];
    }
    const at = this.now();
    this.held.set(seq, { item, at });
    if (this.held.size === 1) this.oldestHeldAt = at;
    // Before this push at most `window` waited, and a give-up delivers at least one: one is enough.
    return this.held.size > this.window ? this.giveUpGap() : [];
  }

  /**
   * Gives up gaps while the chunk that has waited longest has waited maxHoldMs or more
   * (call from a timer): every missing number below such a chunk is lost.
   */
  flushStale(): T[] {
    const out: T[] = [];
    const now = this.now();
    while (this.held.size > 0 && now - this.oldestHeldAt >= this.maxHoldMs) out.push(...this.giveUpGap());
    return out;
  }

  /** At end of stream or shutdown: everything held, gaps counted as lost. */
  releaseAll(): T[] {
    const out: T[] = [];
    while (this.held.size > 0) out.push(...this.giveUpGap());
    return out;
  }

  private startStream(seq: number, item: T): T[] {
    this.arrivedBehind.fill(0);
    this.expected = seq;
    this.highest = seq;
    this.advance(true);
    return [item];
  }

  /** A non-duplicate arrival: reordered if a higher number arrived before it. */
  private noteArrival(seq: number): void {
    if (((seq - this.highest) | 0) < 0) this.counts.reordered++;
    else this.highest = seq;
  }

  /** E moves past one number, which was delivered (arrived) or given up. */
  private advance(arrived: boolean): void {
    this.setArrivedBehind(this.expected!, arrived);
    this.expected = (this.expected! + 1) >>> 0;
  }

  /** Gives up the next `n` numbers (they count as lost). */
  private skip(n: number): void {
    this.counts.lost += n;
    for (let i = 0; i < n; i++) this.advance(false);
  }

  private hasArrivedBehind(seq: number): boolean {
    const i = seq & BEHIND_MASK;
    return (this.arrivedBehind[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private setArrivedBehind(seq: number, arrived: boolean): void {
    const i = seq & BEHIND_MASK;
    if (arrived) this.arrivedBehind[i >>> 5] |= 1 << (i & 31);
    else this.arrivedBehind[i >>> 5] &= ~(1 << (i & 31));
  }

  /** Gives up the first gap: counts it lost and delivers from the next held chunk on. */
  private giveUpGap(): T[] {
    let best = Infinity;
    for (const s of this.held.keys()) best = Math.min(best, (s - this.expected!) >>> 0);
    if (best === Infinity) return [];
    this.skip(best);
    const out: T[] = [];
    this.drainConsecutive(out);
    return out;
  }

  private drainConsecutive(out: T[]): void {
    for (let h = this.held.get(this.expected!); h; h = this.held.get(this.expected!)) {
      this.held.delete(this.expected!);
      out.push(h.item);
      this.advance(true);
    }
    if (this.held.size === 0) this.oldestHeldAt = Infinity;
    else {
      let oldest = Infinity;
      for (const h of this.held.values()) oldest = Math.min(oldest, h.at);
      this.oldestHeldAt = oldest;
    }
  }
}

/**
 * One SequenceTracker per stream (a restarted sender, a new TCP connection, after end of
 * stream: next()), whose counts add up over the run.
 */
export class RunSequence<T> {
  private tracker: SequenceTracker<T>;
  private readonly earlier = { lost: 0, reordered: 0, duplicates: 0 };

  constructor(private readonly make: () => SequenceTracker<T>) {
    this.tracker = make();
  }

  /** The current stream's tracker. */
  get current(): SequenceTracker<T> {
    return this.tracker;
  }

  /** A new stream: a fresh tracker. */
  next(): void {
    const c = this.tracker.counts;
    this.earlier.lost += c.lost;
    this.earlier.reordered += c.reordered;
    this.earlier.duplicates += c.duplicates;
    this.tracker = this.make();
  }

  /** lost, reordered and duplicates over the run. */
  totals(): { lost: number; reordered: number; duplicates: number } {
    const c = this.tracker.counts;
    const e = this.earlier;
    return { lost: e.lost + c.lost, reordered: e.reordered + c.reordered, duplicates: e.duplicates + c.duplicates };
  }
}
