/**
 * The dashboard's chart axis (src/dashboard/axis.js, a plain script the page loads): distinct
 * tick labels on any range, units that scale with the peak.
 */
import { beforeAll, describe, expect, it } from 'vitest';

type Axis = (peak: number, units?: [number, string][]) => { factor: number; unit: string; max: number; ticks: { value: number; label: string }[] };
let axis: Axis;
const RATE: [number, string][] = [[1, 'B/s'], [1e3, 'kB/s'], [1e6, 'MB/s'], [1e9, 'GB/s']];

beforeAll(async () => {
  const file = '../../../src/dashboard/axis.js'; // a browser script: it sets globalThis.ipcastAxis
  await import(/* @vite-ignore */ file);
  axis = (globalThis as unknown as { ipcastAxis: { axis: Axis } }).ipcastAxis.axis;
});

describe('dashboard axis', () => {
  it.each([0, 0.07, 0.12, 0.3, 1, 2.6, 9.99, 17, 88_200, 123_456_789])('peak %s: distinct labels, from 0, covering the peak, 2..5 ticks', (peak) => {
    const a = axis(peak, RATE);
    const labels = a.ticks.map((t) => t.label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(a.ticks[0]!.value).toBe(0);
    expect(a.max).toBeGreaterThanOrEqual(peak);
    expect(a.ticks.length).toBeGreaterThanOrEqual(2);
    expect(a.ticks.length).toBeLessThanOrEqual(5);
  });

  it('a small rate: labels that say it ("0, 0.05, 0.1", not "0.1, 0.1, 0.0"); an audio stream in kB/s', () => {
    expect(axis(0.12).ticks.map((t) => t.label)).toEqual(['0.00', '0.05', '0.10', '0.15']);
    const audio = axis(88_200, RATE);
    expect(audio.unit).toBe('kB/s');
    expect(audio.ticks.map((t) => t.label)).toEqual(['0', '50', '100']);
    expect(axis(123_456_789, RATE).unit).toBe('MB/s');
    expect(axis(500, RATE).unit).toBe('B/s');
  });
});
