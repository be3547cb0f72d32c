/**
 * The receiver's sequence counters computed straight from their definitions (docs/receiver.md,
 * "Sequence accounting"), by brute force over the list of arrivals. Written apart from
 * src/receiver/sequence-tracker.ts on purpose: no held map, no expected pointer, no modular
 * arithmetic (numbers here are plain integers: unwrap them before), only the definitions:
 *
 *  - duplicate: an arrival whose number arrived before;
 *  - reordered: an arrival, not a duplicate, of a number lower than one that arrived before it;
 *  - a number s from the first arrival on is given up at the first of: the arrival that makes
 *    more than `window` distinct numbers above s arrived; the first check at least `maxHoldMs`
 *    after the first number above s arrived; the end of the stream. It is delivered if it
 *    arrived before that, else lost (counted at that moment). An arrival after its number was
 *    given up, or of a number below the first arrival, is late: not delivered.
 *
 * O(arrivals^2 + numbers x events): fine for the few thousand a test produces.
 */
export type OracleEvent = { kind: 'arrive'; n: number; t: number } | { kind: 'check'; t: number };

export interface OracleCounts {
  lost: number;
  reordered: number;
  duplicates: number;
}

export interface OracleResult extends OracleCounts {
  /** The delivered numbers, ascending (the order the receiver hands them on). */
  delivered: number[];
  /** Arrivals after their number was given up, or below the first arrival. */
  late: number;
  /** Reordered arrivals that came while a lower number was missing and not yet given up (a gap open). */
  reorderedInGap: number;
  /** The counts after each event (aligned with the events; before the end of the stream). */
  after: OracleCounts[];
}

export interface OracleOptions {
  /** How many chunks may wait for a gap (32 over UDP, 0 over TCP). */
  window: number;
  /** How long the chunk that waited longest may wait before its gap is given up, at a check. */
  maxHoldMs?: number;
}

export function sequenceOracle(events: OracleEvent[], o: OracleOptions): OracleResult {
  const maxHoldMs = o.maxHoldMs ?? Infinity;
  const arrivals: { n: number; t: number; at: number }[] = [];
  events.forEach((e, at) => {
    if (e.kind === 'arrive') arrivals.push({ n: e.n, t: e.t, at });
  });
  const after: OracleCounts[] = [];
  if (arrivals.length === 0) {
    for (let i = 0; i < events.length; i++) after.push({ lost: 0, reordered: 0, duplicates: 0 });
    return { lost: 0, reordered: 0, duplicates: 0, delivered: [], late: 0, reorderedInGap: 0, after };
  }

  // duplicate and reordered: each arrival against every earlier one.
  const isDup: boolean[] = [];
  const isReordered: boolean[] = [];
  let reorderedInGap = 0;
  for (let i = 0; i < arrivals.length; i++) {
    const n = arrivals[i]!.n;
    let dup = false;
    let higherBefore = false;
    for (let j = 0; j < i; j++) {
      if (arrivals[j]!.n === n) dup = true;
      if (arrivals[j]!.n > n) higherBefore = true;
    }
    isDup.push(dup);
    isReordered.push(!dup && higherBefore);
  }

  // For every number from the first arrival to the highest: when it was given up, if ever.
  const first = arrivals[0]!.n;
  const highest = Math.max(...arrivals.map((a) => a.n));
  const END = events.length;
  const givenUpAt = new Map<number, number>();
  const firstArrivalAt = new Map<number, number>();
  for (const a of arrivals) if (!firstArrivalAt.has(a.n)) firstArrivalAt.set(a.n, a.at);
  for (let s = first; s <= highest; s++) {
    let at = END;
    const above = new Set<number>();
    let firstAboveT: number | undefined;
    for (let k = 0; k < events.length && at === END; k++) {
      const e = events[k]!;
      if (e.kind === 'arrive') {
        if (e.n > s) {
          above.add(e.n);
          firstAboveT ??= e.t;
          if (above.size > o.window) at = k;
        }
      } else if (firstAboveT !== undefined && e.t - firstAboveT >= maxHoldMs) {
        at = k;
      }
    }
    givenUpAt.set(s, at);
  }
  const deliveredSet = new Set<number>();
  for (let s = first; s <= highest; s++) {
    const arrived = firstArrivalAt.get(s);
    if (arrived !== undefined && arrived < givenUpAt.get(s)!) deliveredSet.add(s);
  }
  const isLost = (s: number): boolean => !deliveredSet.has(s);

  // Reordered arrivals while a gap was open: a lower number, from the first arrival on, had
  // neither arrived nor been given up yet (the case issue 16 found miscounted).
  for (let i = 0; i < arrivals.length; i++) {
    if (!isReordered[i]) continue;
    const { n, at } = arrivals[i]!;
    for (let m = first; m < n; m++) {
      if ((firstArrivalAt.get(m) ?? Infinity) > at && givenUpAt.get(m)! > at) {
        reorderedInGap++;
        break;
      }
    }
  }

  let late = 0;
  for (let i = 0; i < arrivals.length; i++) if (!isDup[i] && !deliveredSet.has(arrivals[i]!.n)) late++;

  // Prefix counts after each event.
  let dups = 0;
  let reord = 0;
  let ai = 0;
  const lostAt = new Array<number>(events.length + 1).fill(0);
  for (let s = first; s <= highest; s++) if (isLost(s)) lostAt[givenUpAt.get(s)!]!++;
  let lost = 0;
  for (let k = 0; k < events.length; k++) {
    lost += lostAt[k]!;
    if (events[k]!.kind === 'arrive') {
      if (isDup[ai]) dups++;
      if (isReordered[ai]) reord++;
      ai++;
    }
    after.push({ lost, reordered: reord, duplicates: dups });
  }
  lost += lostAt[END]!;
  return {
    lost,
    reordered: reord,
    duplicates: dups,
    delivered: [...deliveredSet].sort((a, b) => a - b),
    late,
    reorderedInGap,
    after,
  };
}
