/**
 * Starts the child of one transport (src/transport) and keeps the receiver's figures for it
 * up to date from the sink's reports (fd 3): what the child side read and verified, and the
 * hand-off and end-to-end latency histograms.
 */
import { LATENCY_BUCKETS_US, type LatencyHistogram, type SinkFigures, type TransportKind } from '../transport/stats.js';
import { startTransportChild, type LatencyReport, type SinkReport } from '../transport/index.js';
import type { FeedableChild } from './child-feeder.js';

export interface DecoderChildOptions {
  decoder?: string[];
  /** The writer's wait policy (µs); default: startTransportChild's (defaultWriteSpinUs()). */
  spinUs?: number;
  /** This module's part of the transport's figures: it is their one writer. */
  stats: SinkFigures;
  log(message: string): void;
  /** The child's stderr, line by line, instead of inherited (TransportOptions.stderrLines). */
  stderrLines?: (line: string) => void;
}

export async function startDecoderChild(kind: TransportKind, o: DecoderChildOptions): Promise<FeedableChild> {
  const child = await startTransportChild(kind, {
    ...(o.decoder ? { decoder: o.decoder } : {}),
    ...(o.spinUs !== undefined ? { writeSpinUs: o.spinUs } : {}),
    stdout: 'inherit',
    ...(o.stderrLines ? { stderrLines: o.stderrLines } : {}),
  });
  o.stats.sink = child.sink;
  // Each child reports totals since it started; keep what earlier (restarted) children verified.
  const base = { chunks: o.stats.sinkChunks, bytes: o.stats.sinkBytes, gaps: o.stats.sinkGaps, checksumErrors: o.stats.sinkChecksumErrors };
  const hand = snapshotHistogram(o.stats.handOffLatency);
  const e2e = snapshotHistogram(o.stats.endToEndLatency);
  const apply = (r: SinkReport): void => {
    o.stats.sinkChunks = base.chunks + (r.chunks ?? 0);
    o.stats.sinkBytes = base.bytes + (r.bytes ?? 0);
    o.stats.sinkGaps = base.gaps + (r.gaps ?? 0);
    o.stats.sinkChecksumErrors = base.checksumErrors + (r.checksumErrors ?? 0) + (r.corrupt ?? 0);
    if (r.handoff) mergeHistogram(o.stats.handOffLatency, hand, r.handoff, r.bucketBoundsUs);
    if (r.endToEnd) mergeHistogram(o.stats.endToEndLatency, e2e, r.endToEnd, r.bucketBoundsUs);
  };
  child.on('progress', apply);
  child.on('report', (r) => {
    apply(r);
    if (r.type === 'final' && r.error) o.log(`${kind}: sink: ${r.error}`);
  });
  return {
    kind,
    get pid() {
      return child.pid;
    },
    get writable() {
      return child.writable;
    },
    writeBatch: (payloads, metas) => child.writeBatch(payloads, metas),
    nativeWriter: child.nativeWriter,
    waitSeconds: () => child.stats().waitSeconds,
    end: () => child.end(),
    close: () => child.close(),
    exited: child.exited.then((e) => {
      if (e.report) apply(e.report);
      return { code: e.code, signal: e.signal };
    }),
  };
}

function snapshotHistogram(h: LatencyHistogram): LatencyHistogram {
  return { ...h, cumulative: [...h.cumulative] };
}

/** h = base + the child's report: both cumulative; bounds other than ours count in +Inf only. */
function mergeHistogram(h: LatencyHistogram, base: LatencyHistogram, r: LatencyReport, bounds: number[] | undefined): void {
  const b = bounds ?? LATENCY_BUCKETS_US;
  const same = b.length === LATENCY_BUCKETS_US.length && b.every((v, i) => v === LATENCY_BUCKETS_US[i]);
  const last = h.cumulative.length - 1;
  for (let i = 0; i < last; i++) h.cumulative[i] = base.cumulative[i]! + (same ? (r.buckets[i] ?? 0) : 0);
  h.cumulative[last] = base.cumulative[last]! + r.count;
  h.count = base.count + r.count;
  h.sumUs = base.sumUs + r.sumUs;
  // Percentiles are the current child's; a child that has seen nothing yet keeps the last ones.
  if (r.count > 0) {
    h.p50Us = r.p50Us;
    h.p99Us = r.p99Us;
  }
}
