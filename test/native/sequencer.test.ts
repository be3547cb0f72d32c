/**
 * The native relay path's sequencer (native/relay/sequencer.c) against the JS one
 * (src/receiver/sequence-tracker.ts), which test/unit/receiver/sequence-tracker.test.ts checks against the
 * definitions of docs/receiver.md: on random scripts of impaired streams (loss, duplicates,
 * swaps, late chunks, restarts, wrap-around, stale flushes), both must deliver the same
 * items in the same order and count the same.
 */
import { describe, expect, it } from 'vitest';

import { loadNative } from '../../src/shared/native.js';
import { SequenceTracker } from '../../src/receiver/sequence-tracker.js';
import { rng } from '../helpers/rng.js';

interface Script {
  ops: number[];
  seqs: number[];
  timestamps: number[];
  now: number[];
}

/** An impaired stream: drops, duplicates, near and far swaps, a restart, time passing. */
function randomScript(seed: number, length: number): Script {
  const r = rng(seed);
  const s: Script = { ops: [], seqs: [], timestamps: [], now: [] };
  let seq = Math.floor(r() * 2 ** 32) >>> 0;
  if (r() < 0.3) seq = (2 ** 32 - Math.floor(r() * 50)) >>> 0; // wraps within the script
  let ts = 1_700_000_000_000_000;
  let now = 0;
  const pending: Array<[number, number]> = [];
  for (let i = 0; i < length; i++) {
    now += r() * 3;
    const roll = r();
    if (roll < 0.04) {
      s.ops.push(1);
      s.seqs.push(0);
      s.timestamps.push(0);
      s.now.push(now + (r() < 0.5 ? 60 : 0));
      continue;
    }
    if (roll < 0.045) {
      // the sender restarts: far away, newer clock
      seq = Math.floor(r() * 2 ** 32) >>> 0;
      ts += 10_000_000;
    }
    const mine: [number, number] = [seq, ts];
    seq = (seq + 1) >>> 0;
    ts += 1000;
    const x = r();
    if (x < 0.03) continue; // lost
    const out: Array<[number, number]> = [];
    if (x < 0.08) pending.push(mine); // delayed: comes later
    else out.push(mine);
    if (x > 0.95) out.push(mine); // duplicated
    if (pending.length > 0 && r() < 0.2) out.push(pending.splice(Math.floor(r() * pending.length), 1)[0]!);
    for (const [q, t] of out) {
      s.ops.push(0);
      s.seqs.push(q);
      s.timestamps.push(t);
      s.now.push(now);
    }
  }
  s.ops.push(2);
  s.seqs.push(0);
  s.timestamps.push(0);
  s.now.push(now);
  return s;
}

function runJs(s: Script, window: number, maxHoldMs: number) {
  let now = 0;
  const t = new SequenceTracker<number>(window, maxHoldMs, () => now);
  const order: number[] = [];
  s.ops.forEach((op, i) => {
    now = s.now[i]!;
    if (op === 0) order.push(...t.push(s.seqs[i]!, i, s.timestamps[i]!));
    else if (op === 1) order.push(...t.flushStale());
    else order.push(...t.releaseAll());
  });
  return { order, ...t.counts };
}

function runC(s: Script, window: number, maxHoldMs: number) {
  return loadNative().relaySequencerReplay(
    Uint8Array.from(s.ops),
    Uint32Array.from(s.seqs),
    Float64Array.from(s.timestamps),
    Float64Array.from(s.now),
    window,
    maxHoldMs,
  );
}

describe('the native sequencer', () => {
  it('delivers and counts exactly as the JS tracker on 200 random impaired streams', () => {
    let lost = 0;
    let reordered = 0;
    let duplicates = 0;
    let restarts = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const script = randomScript(seed, 2000);
      const window = seed % 5 === 0 ? 4 : 32;
      const js = runJs(script, window, 50);
      const c = runC(script, window, 50);
      expect({ seed, ...c }).toEqual({ seed, ...js });
      lost += js.lost;
      reordered += js.reordered;
      duplicates += js.duplicates;
      restarts += js.restarts;
    }
    // The scripts exercised every rule.
    expect(lost).toBeGreaterThan(1000);
    expect(reordered).toBeGreaterThan(1000);
    expect(duplicates).toBeGreaterThan(1000);
    expect(restarts).toBeGreaterThan(100);
  });

  it('agrees with window 0 (nothing held)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const script = randomScript(1000 + seed, 1000);
      expect(runC(script, 0, 50)).toEqual(runJs(script, 0, 50));
    }
  });
});
