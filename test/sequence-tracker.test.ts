import { describe, expect, it } from 'vitest';

import { SequenceTracker } from '../src/receiver/sequence-tracker.js';

function feed(t: SequenceTracker<number>, seqs: number[]): number[] {
  return seqs.flatMap((s) => t.push(s, s));
}

describe('SequenceTracker', () => {
  it('passes an in-order stream straight through', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [5, 6, 7, 8])).toEqual([5, 6, 7, 8]);
    expect(t.counts).toEqual({ lost: 0, reordered: 0, duplicates: 0, restarts: 0 });
  });

  it('puts a swapped pair back in order and counts one reorder', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [1, 3, 2, 4])).toEqual([1, 2, 3, 4]);
    expect(t.counts).toMatchObject({ reordered: 1, lost: 0 });
  });

  it('counts duplicates, held or already delivered', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [1, 2, 2, 4, 4, 3, 1])).toEqual([1, 2, 3, 4]);
    expect(t.counts.duplicates).toBe(3);
  });

  it('gives up a gap when the window fills, counting the missing chunks as lost', () => {
    const t = new SequenceTracker<number>(3);
    expect(feed(t, [1])).toEqual([1]);
    expect(feed(t, [4, 5, 6])).toEqual([]);
    expect(feed(t, [7])).toEqual([4, 5, 6, 7]);
    expect(t.counts.lost).toBe(2);
  });

  it('gives up a gap held longer than maxHoldMs', () => {
    let now = 0;
    const t = new SequenceTracker<number>(100, 50, () => now);
    feed(t, [1, 3, 4]);
    now = 20;
    expect(t.flushStale()).toEqual([]);
    now = 60;
    expect(t.flushStale()).toEqual([3, 4]);
    expect(t.counts.lost).toBe(1);
  });

  it('wraps at 2^32', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [0xfffffffe, 0xffffffff, 0, 1])).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    expect(t.counts).toMatchObject({ lost: 0, restarts: 0 });
  });

  it('treats a jump back to 0 as a sender restart, not as duplicates', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [100000, 100001, 0, 1])).toEqual([100000, 100001, 0, 1]);
    expect(t.counts).toMatchObject({ restarts: 1, duplicates: 0, lost: 0 });
  });

  it('tells a restarted sender (sequence back near 0, newer timestamp) from duplicates (older timestamp)', () => {
    const t = new SequenceTracker<number>(8);
    expect([170, 171].flatMap((s) => t.push(s, s, 1000 + s))).toEqual([170, 171]);
    expect(t.push(100, 100, 900)).toEqual([]);
    expect(t.counts).toMatchObject({ duplicates: 1, restarts: 0 });
    expect([0, 1].flatMap((s) => t.push(s, s, 5000 + s))).toEqual([0, 1]);
    expect(t.counts).toMatchObject({ duplicates: 1, restarts: 1, lost: 0 });
  });

  it('with window 0 (TCP) counts a gap as lost at once', () => {
    const t = new SequenceTracker<number>(0);
    expect(feed(t, [1, 2, 5, 6])).toEqual([1, 2, 5, 6]);
    expect(t.counts.lost).toBe(2);
  });

  it('releaseAll delivers what is held in order', () => {
    const t = new SequenceTracker<number>(8);
    feed(t, [1, 3, 5]);
    expect(t.releaseAll()).toEqual([3, 5]);
    expect(t.counts.lost).toBe(2);
  });
});
