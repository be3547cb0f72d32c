/**
 * The demo's live terminal table: one row per transport, rates computed from the change
 * of the running totals since the previous row.
 */
import type { ReceiverStats } from '../receiver/stats.js';
import type { TransportKind } from '../transport/stats.js';

export class ComparisonTable {
  private prev = new Map<TransportKind, { t: number; bytes: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  render(s: ReceiverStats): string {
    const t = this.now();
    const head = ['transport', 'MB/s', 'chunks', 'verified', 'p50 us', 'p99 us', 'waited s', 'dropped', 'restarts', 'up'];
    const rows: string[][] = [];
    for (const ts of Object.values(s.transports)) {
      const p = this.prev.get(ts.transport);
      this.prev.set(ts.transport, { t, bytes: ts.bytesHandedOff });
      const rate = p && t > p.t ? (ts.bytesHandedOff - p.bytes) / ((t - p.t) / 1000) / 1e6 : 0;
      rows.push([
        ts.transport,
        rate.toFixed(3),
        String(ts.chunksHandedOff),
        // '-': not measured (no sink: the decoder reads the pipe itself).
        ts.sink ? String(ts.sinkChunks) : '-',
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
