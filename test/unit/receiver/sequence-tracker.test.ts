import { describe, expect, it } from 'vitest';

import { SequenceTracker } from '../../../src/receiver/sequence-tracker.js';
import { rng } from '../../helpers/rng.js';
import { sequenceOracle, type OracleEvent } from '../../helpers/sequence-oracle.js';

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
    expect(t.push(170, 170, 1170)).toEqual([]);
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

describe('SequenceTracker: the counting rules of docs/receiver.md', () => {
  it('counts a swap that happens while an earlier gap is still open (issue 16)', () => {
    let now = 0;
    const t = new SequenceTracker<number>(32, 50, () => now);
    // 2 never comes; 4 and 5 swapped behind the gap.
    expect(feed(t, [1, 3, 5, 4, 6])).toEqual([1]);
    now = 50;
    expect(t.flushStale()).toEqual([3, 4, 5, 6]);
    expect(t.counts).toEqual({ lost: 1, reordered: 1, duplicates: 0, restarts: 0 });
  });

  it('a chunk later than the window is counted reordered, stays lost, is not delivered; a second copy is a duplicate', () => {
    const t = new SequenceTracker<number>(2);
    // 2 is given up when 5 arrives (three higher numbers waiting, window 2).
    expect(feed(t, [1, 3, 4, 5])).toEqual([1, 3, 4, 5]);
    expect(t.counts).toMatchObject({ lost: 1, reordered: 0 });
    expect(feed(t, [2, 2])).toEqual([]);
    expect(t.counts).toEqual({ lost: 1, reordered: 1, duplicates: 1, restarts: 0 });
  });

  it('a chunk older than the first one of the stream is late: reordered, not lost', () => {
    const t = new SequenceTracker<number>(8);
    expect(feed(t, [5, 4, 6, 4])).toEqual([5, 6]);
    expect(t.counts).toEqual({ lost: 0, reordered: 1, duplicates: 1, restarts: 0 });
  });

  it('a check gives up every gap below a chunk that has waited maxHoldMs, not just the first', () => {
    let now = 0;
    const t = new SequenceTracker<number>(32, 50, () => now);
    feed(t, [1, 3, 5]);
    now = 10;
    feed(t, [7]);
    now = 55;
    expect(t.flushStale()).toEqual([3, 5]);
    expect(t.counts.lost).toBe(2);
    now = 60;
    expect(t.flushStale()).toEqual([7]);
    expect(t.counts.lost).toBe(3);
  });

  it('TCP (window 0): a swapped pair is one lost and one reordered', () => {
    const t = new SequenceTracker<number>(0);
    expect(feed(t, [1, 3, 2, 4])).toEqual([1, 3, 4]);
    expect(t.counts).toEqual({ lost: 1, reordered: 1, duplicates: 0, restarts: 0 });
  });

  /**
   * Seeded random paths (drops, duplicates, displacements of 1 to 60 places, time passing and
   * the receiver's checks), through the tracker and through an oracle that computes the counts
   * from the definitions by brute force (test/helpers/sequence-oracle.ts). Counts must agree
   * after every event, and the delivered chunks at the end.
   */
  it('equals the brute-force oracle on 3000 seeded random arrival sequences', () => {
    const CASES = 3000;
    const started = Date.now();
    let reorderedInGap = 0;
    let late = 0;
    for (let c = 0; c < CASES; c++) {
      const next = rng(0x5eed0000 + c);
      const window = [0, 1, 2, 3, 8, 32][Math.floor(next() * 6)]!;
      const maxHoldMs = next() < 0.5 ? 5 : 50;
      const events = randomPath(next, maxHoldMs);
      // Wrap around 2^32 in some cases: the tracker sees base + n modulo 2^32, the oracle n.
      const base = next() < 0.3 ? 0xffffffff - Math.floor(next() * 100) : Math.floor(next() * 0x7fffffff);
      const want = sequenceOracle(events, { window, maxHoldMs });
      reorderedInGap += want.reorderedInGap;
      late += want.late;
      let now = 0;
      const t = new SequenceTracker<number>(window, maxHoldMs, () => now);
      const out: number[] = [];
      const context = (k: number): string => `case ${c} (window ${window}, hold ${maxHoldMs} ms), after event ${k}: ${JSON.stringify(events.slice(0, k + 1))}`;
      events.forEach((e, k) => {
        now = e.t;
        if (e.kind === 'arrive') out.push(...t.push((base + e.n) >>> 0, e.n));
        else out.push(...t.flushStale());
        const { lost, reordered, duplicates } = t.counts;
        if (lost !== want.after[k]!.lost || reordered !== want.after[k]!.reordered || duplicates !== want.after[k]!.duplicates) {
          expect({ lost, reordered, duplicates }, context(k)).toEqual(want.after[k]);
        }
      });
      out.push(...t.releaseAll());
      if (out.join() !== want.delivered.join() || t.counts.lost !== want.lost) {
        expect({ out, lost: t.counts.lost }, context(events.length - 1)).toEqual({ out: want.delivered, lost: want.lost });
      }
      expect(t.counts.restarts).toBe(0);
    }
    // The generator does produce the cases the oracle is there for.
    expect(reorderedInGap).toBeGreaterThan(1000);
    expect(late).toBeGreaterThan(1000);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

/** Numbers 0..N-1 through a path that drops, duplicates and displaces them; time passes; checks. */
function randomPath(next: () => number, maxHoldMs: number): OracleEvent[] {
  const n = 1 + Math.floor(next() * 150);
  const pDrop = next() * 0.2;
  const pDup = next() * 0.15;
  const pMove = next() * 0.3;
  const maxMove = [1, 2, 5, 60][Math.floor(next() * 4)]!;
  const keyed: { key: number; n: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (next() < pDrop) continue;
    const moved = next() < pMove ? 1 + Math.floor(next() * maxMove) : 0;
    keyed.push({ key: i + moved + next() * 0.5, n: i });
    if (next() < pDup) keyed.push({ key: i + next() * 3 * maxMove, n: i });
  }
  keyed.sort((a, b) => a.key - b.key);
  const events: OracleEvent[] = [];
  let t = 0;
  for (const k of keyed) {
    t += next() < 0.8 ? Math.floor(next() * 3) : Math.floor(next() * maxHoldMs * 1.5);
    if (next() < 0.2) events.push({ kind: 'check', t });
    events.push({ kind: 'arrive', n: k.n, t });
  }
  return events;
}
