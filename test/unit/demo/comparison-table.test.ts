/** The live table of demo and recv (src/demo/comparison-table.ts). */
import { describe, expect, it } from 'vitest';

import { ComparisonTable } from '../../../src/demo/comparison-table.js';
import { emptyReceiverStats, transportParts } from '../../../src/receiver/stats.js';

describe('ComparisonTable', () => {
  it('one row per transport, the rate from the change since the last row, verified never above handed off', () => {
    let now = 0;
    const table = new ComparisonTable(() => now);
    const s = emptyReceiverStats();
    const shm = transportParts(s, 'shm');
    shm.handOff.chunksHandedOff = 100;
    shm.handOff.bytesHandedOff = 1_000_000;
    table.render(s);
    now = 1000;
    shm.handOff.chunksHandedOff = 300;
    shm.handOff.bytesHandedOff = 3_000_000;
    // The sink reported more than the last copy of the hand-off counts (they lag a tick).
    shm.sink!.sinkChunks = 305;
    const row = table.render(s).split('\n')[1]!.trim().split(/\s{2,}/);
    expect(row[0]).toBe('shm');
    expect(row[1]).toMatch(/^2(\.0+)? MB\/s$/);
    expect(row[2]).toBe('300');
    expect(row[3]).toBe('300');
  });
});
