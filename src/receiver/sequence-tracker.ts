/**
 * Puts one channel's chunks back in sequence order and counts what went wrong.
 *
 * Sequence numbers are uint32 and wrap; differences are taken modulo 2^32 as signed.
 *  - the expected number: delivered at once, with any held successors;
 *  - ahead of it: held, up to `window` chunks (UDP may reorder); a gap still open when the
 *    window is full, or older than `maxHoldMs`, is given up: its chunks count as lost;
 *  - behind it, close, with a sender timestamp no newer than the newest seen: a duplicate (or a
 *    chunk that came after its gap was given up), dropped;
 *  - behind it with a newer timestamp, or far behind or far ahead (more than RESTART_DISTANCE):
 *    the sender restarted (its sequence starts over at 0); start over.
 * A chunk that arrives after a later one has is counted as reordered.
 */
export interface SequenceCounts {
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
}

/** Larger jumps than this are a new stream (sender restarted), not loss. */
export const RESTART_DISTANCE = 1 << 16;

export class SequenceTracker<T> {
  readonly counts: SequenceCounts = { lost: 0, reordered: 0, duplicates: 0, restarts: 0 };
  private expected: number | undefined;
  private readonly held = new Map<number, { item: T; at: number }>();
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
   * tells a restarted sender from a duplicate; without it a close step back is a duplicate.
   */
  push(sequence: number, item: T, timestamp = -Infinity): T[] {
    const seq = sequence >>> 0;
    const newer = timestamp > this.newestTimestamp;
    if (newer) this.newestTimestamp = timestamp;
    if (this.expected === undefined) {
      this.expected = (seq + 1) >>> 0;
      return [item];
    }
    const diff = (seq - this.expected) | 0;
    if (diff === 0) {
      if (this.held.size > 0) this.counts.reordered++;
      const out = [item];
      this.expected = (seq + 1) >>> 0;
      this.drainConsecutive(out);
      return out;
    }
    if (diff < 0 && diff > -RESTART_DISTANCE && !newer) {
      this.counts.duplicates++;
      return [];
    }
    if (diff < 0 || diff >= RESTART_DISTANCE) {
      // A new stream: deliver what was held, then start over at this chunk.
      this.counts.restarts++;
      const out = this.releaseAll();
      this.expected = (seq + 1) >>> 0;
      out.push(item);
      return out;
    }
    if (this.held.has(seq)) {
      this.counts.duplicates++;
      return [];
    }
    if (this.window === 0) {
      // No reordering possible (TCP): the gap is lost for good.
      this.counts.lost += diff;
      this.expected = (seq + 1) >>> 0;
      return [item];
    }
    const at = this.now();
    this.held.set(seq, { item, at });
    if (this.held.size === 1) this.oldestHeldAt = at;
    return this.held.size > this.window ? this.giveUpGap() : [];
  }

  /** Gives up gaps that have been held longer than maxHoldMs (call from a timer). */
  flushStale(): T[] {
    if (this.held.size === 0 || this.now() - this.oldestHeldAt < this.maxHoldMs) return [];
    return this.giveUpGap();
  }

  /** At end of stream or shutdown: everything held, gaps counted as lost. */
  releaseAll(): T[] {
    const out: T[] = [];
    while (this.held.size > 0) out.push(...this.giveUpGap());
    return out;
  }

  /** Skips the first gap: counts it lost and delivers from the next held chunk on. */
  private giveUpGap(): T[] {
    let next: number | undefined;
    let best = Infinity;
    for (const s of this.held.keys()) {
      const d = (s - this.expected!) >>> 0;
      if (d < best) {
        best = d;
        next = s;
      }
    }
    if (next === undefined) return [];
    this.counts.lost += best;
    this.expected = next;
    const out: T[] = [];
    this.drainConsecutive(out);
    return out;
  }

  private drainConsecutive(out: T[]): void {
    for (let h = this.held.get(this.expected!); h; h = this.held.get(this.expected!)) {
      this.held.delete(this.expected!);
      out.push(h.item);
      this.expected = (this.expected! + 1) >>> 0;
    }
    if (this.held.size === 0) this.oldestHeldAt = Infinity;
    else {
      let oldest = Infinity;
      for (const h of this.held.values()) oldest = Math.min(oldest, h.at);
      this.oldestHeldAt = oldest;
    }
  }
}
