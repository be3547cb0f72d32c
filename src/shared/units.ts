/**
 * Numbers for people: a rate in the unit that fits it (88.2 kB/s for an audio stream, 1.25 GB/s
 * for the relay at full speed, never 0.00 MB/s), with three significant digits.
 */
const RATE_UNITS = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];

export function formatByteRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '0 B/s';
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 999.5 && i < RATE_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toPrecision(3)} ${RATE_UNITS[i]}`;
}
