/**
 * One transport's figures: each part written by its one owner, merged when read; the one
 * histogram representation (cumulative, as the sink reports it).
 */
import { describe, expect, it } from 'vitest';

import { emptyReceiverStats, transportParts } from '../../../src/receiver/stats.js';
import { emptyHistogram, emptyTransportStats, LATENCY_BUCKETS_US, observeLatency } from '../../../src/transport/stats.js';

describe('transport figures', () => {
  it('the readers see every part merged, and later writes to any part', () => {
    const stats = emptyReceiverStats();
    const parts = transportParts(stats, 'shm');
    expect(transportParts(stats, 'shm')).toBe(parts);
    parts.handOff.chunksHandedOff = 7;
    parts.child.up = true;
    parts.sink.sinkChunks = 5;
    expect(stats.transports.shm).toMatchObject({ transport: 'shm', chunksHandedOff: 7, up: true, sinkChunks: 5 });
    parts.handOff.chunksHandedOff = 9;
    expect(stats.transports.shm!.chunksHandedOff).toBe(9);
    expect({ ...stats.transports.shm }).toMatchObject({ chunksHandedOff: 9, restarts: 0, sink: true });
  });

  it('a plain TransportStats put in by hand serves as every part', () => {
    const stats = emptyReceiverStats();
    const plain = emptyTransportStats('pipe');
    stats.transports.pipe = plain;
    const parts = transportParts(stats, 'pipe');
    expect([parts.handOff, parts.child, parts.sink]).toEqual([plain, plain, plain]);
    parts.sink.sinkGaps = 2;
    expect(plain.sinkGaps).toBe(2);
  });

  it('histograms are cumulative, the last bucket is every sample', () => {
    const h = emptyHistogram();
    observeLatency(h, 30, 2); // (25, 50]
    observeLatency(h, 2_000_000); // above the largest bound
    const i50 = LATENCY_BUCKETS_US.indexOf(50);
    expect(h.cumulative[i50 - 1]).toBe(0);
    expect(h.cumulative[i50]).toBe(2);
    expect(h.cumulative[LATENCY_BUCKETS_US.length - 1]).toBe(2);
    expect(h.cumulative[LATENCY_BUCKETS_US.length]).toBe(3);
    expect(h).toMatchObject({ count: 3, sumUs: 2_000_060 });
  });
});
