/**
 * The live terminal table of `ipcast demo` and `ipcast recv` (on a TTY): one row per
 * transport, rates computed from the change of the running totals since the previous row,
 * in the unit that fits them (src/shared/units.ts).
 */
import type { ReceiverStats } from '../receiver/stats.js';
import type { TransportKind } from '../transport/stats.js';
import { formatByteRate } from '../shared/units.js';

const MIN_INTERVAL_MS = 500;

export class ComparisonTable {
  private prev = new Map<TransportKind, { t: number; bytes: number; rate: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  render(s: ReceiverStats): string {
    const t = this.now();
    const head = ['transport', 'rate', 'chunks', 'verified', 'p50 us', 'p99 us', 'waited s', 'dropped', 'restarts', 'up'];
    const rows: string[][] = [];
    for (const ts of Object.values(s.transports)) {
      const p = this.prev.get(ts.transport);
      // A redraw soon after the last (the final one at the end) keeps the last second's rate:
      // a rate over a few milliseconds says nothing.
      const fresh = !p || t - p.t >= MIN_INTERVAL_MS;
      const rate = !p ? 0 : fresh ? (ts.bytesHandedOff - p.bytes) / ((t - p.t) / 1000) : p.rate;
      if (fresh) this.prev.set(ts.transport, { t, bytes: ts.bytesHandedOff, rate });
      rows.push([
        ts.transport,
        formatByteRate(rate),
        String(ts.chunksHandedOff),
        // '-': not measured (no sink: the decoder reads the pipe itself). On the native path the
        // hand-off counts are copied every tick while the sink reports as it goes: for a moment
        // the sink can be ahead of them, but nothing is verified before it is handed off.
        ts.sink ? String(Math.min(ts.sinkChunks, ts.chunksHandedOff)) : '-',
        ts.sink ? ts.handOffLatency.p50Us.toFixed(0) : '-',
        ts.sink ? ts.handOffLatency.p99Us.toFixed(0) : '-',
        ts.waitSeconds.toFixed(3),
        String(ts.droppedSlowChild),
        String(ts.restarts),
        ts.up ? 'yes' : 'no',
      ]);
    }
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
    const errors = Object.values(s.decodeErrors).reduce((a, b) => a + (b ?? 0), 0);
    return [
      line(head),
      ...rows.map(line),
      `network: ${s.chunksReceived} chunks received, lost ${s.lost}, reordered ${s.reordered}, duplicates ${s.duplicates}, corrupt ${errors}, kernel drops ${s.kernelDrops}`,
    ].join('\n');
  }
}
