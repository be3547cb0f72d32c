/**
 * prom-client metrics whose values are read from plain stats objects at scrape time.
 *
 * The receiver and the sender keep their figures as running totals in plain objects
 * (src/receiver/stats.ts, src/transport/stats.ts, src/sender/stats.ts). Rather than mirroring
 * every increment into prom-client, each metric is a prom-client Counter, Gauge or Histogram
 * whose collect() (called on every scrape) reads the current samples. Counters are kept
 * monotonic per label set: a reading below the last one exported (a stats object that was
 * replaced, a kernel counter that restarted with a new socket) is added on top of what was
 * already exported instead of going backwards.
 *
 * Histograms are counted by the sink (native/, one sample at a time) and arrive here already
 * bucketed (LatencyHistogram: cumulative counts in microseconds, the one representation from
 * the sink's report to here). prom-client's Histogram observes single values only, so
 * LatencyHistogramMetric, a prom-client Histogram on the same bounds, exports those totals
 * as they are: cumulative `_bucket{le=...}` in seconds ending with `le="+Inf"`, `_sum` in
 * seconds and `_count`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import { LATENCY_BUCKETS_US, type LatencyHistogram } from '../transport/stats.js';

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  histogram: LatencyHistogram;
}

/** Every declared label present ('' when the reading leaves it out); an undeclared one throws. */
function fullLabels(name: string, labelNames: readonly string[], labels: Labels): Labels {
  const out: Labels = {};
  for (const l of labelNames) out[l] = labels[l] ?? '';
  for (const l of Object.keys(labels)) {
    if (!labelNames.includes(l)) throw new TypeError(`label '${l}' is not declared on ${name}`);
  }
  return out;
}

/** A counter read at scrape time, monotonic per label set. */
export function counter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Sample[]): Counter {
  if (!name.endsWith('_total')) throw new TypeError(`counter ${name} must end in _total`);
  /** per label set: the last raw reading and what was exported. */
  const last = new Map<string, { raw: number; exported: number }>();
  const monotonic = (labels: Labels, raw: number): number => {
    const key = JSON.stringify(labels);
    const prev = last.get(key);
    let exported = raw;
    if (prev) exported = raw >= prev.raw ? prev.exported + (raw - prev.raw) : prev.exported + raw;
    last.set(key, { raw, exported });
    return exported;
  };
  return new Counter(readConfig(registry, name, help, labelNames, read, (m: Counter, labels, v) => m.inc(labels, monotonic(labels, Math.max(0, v)))));
}

/** A gauge read at scrape time. */
export function gauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Sample[]): Gauge {
  return new Gauge(readConfig(registry, name, help, labelNames, read, (m: Gauge, labels, v) => m.set(labels, v)));
}

/** prom-client's configuration of a metric whose collect() starts over and puts what read() says. */
function readConfig<M extends Counter | Gauge>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => Sample[],
  put: (metric: M, labels: Labels, value: number) => void,
): { name: string; help: string; labelNames: readonly string[]; registers: Registry[]; collect(this: M): void } {
  return {
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of read()) put(this, fullLabels(name, labelNames, s.labels), Number.isFinite(s.value) ? s.value : 0);
    },
  };
}

/** Prometheus `le` label text for a bound in seconds. */
export function leLabel(seconds: number): string {
  if (seconds === Infinity) return '+Inf';
  // Microsecond bounds divided by 1e6 can pick up float noise (0.000025000000000000001): round.
  return String(Number(seconds.toPrecision(12)));
}

interface ExportedValue {
  labels: Labels;
  sharedLabels: Labels;
  value: number;
  metricName: string;
}

/** A prom-client Histogram that exports LatencyHistogram totals read at scrape time. */
export class LatencyHistogramMetric extends Histogram {
  /** Set by prom-client's constructor (its typings leave them out). */
  declare readonly name: string;
  declare readonly help: string;
  declare readonly labelNames: readonly string[];
  private readonly read: () => HistogramSample[];

  constructor(opts: { name: string; help: string; labelNames: readonly string[]; registers: Registry[] }, read: () => HistogramSample[]) {
    // prom-client rejects a declared `le` label itself.
    super({ ...opts, buckets: LATENCY_BUCKETS_US.map((us) => Number((us / 1e6).toPrecision(12))) });
    this.read = read;
  }

  /** What prom-client's registry prints (and get() splays): the read totals, not observe()s. */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: 'sum' }> {
    const values: ExportedValue[] = [];
    for (const s of this.read()) values.push(...histogramValues(this.name, fullLabels(this.name, this.labelNames, s.labels), s.histogram));
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}

/**
 * One LatencyHistogram as Prometheus samples (seconds, cumulative buckets, then +Inf, _sum and
 * _count). `_count` is the +Inf bucket, so they always agree.
 */
function histogramValues(name: string, labels: Labels, h: LatencyHistogram): ExportedValue[] {
  const value = (metricName: string, v: number, extra: Labels = {}): ExportedValue => ({ metricName, labels: { ...labels, ...extra }, sharedLabels: {}, value: v });
  const out: ExportedValue[] = [];
  let previous = 0;
  for (let i = 0; i <= h.bucketsUs.length; i++) {
    // cumulative, never below the bucket before it (a malformed report must not break the shape)
    previous = Math.max(previous, h.cumulative[i] ?? 0);
    const le = i < h.bucketsUs.length ? leLabel(h.bucketsUs[i]! / 1e6) : '+Inf';
    out.push(value(`${name}_bucket`, previous, { le }));
  }
  out.push(value(`${name}_sum`, Math.max(0, h.sumUs) / 1e6));
  out.push(value(`${name}_count`, previous));
  return out;
}

export function histogram(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => HistogramSample[]): LatencyHistogramMetric {
  return new LatencyHistogramMetric({ name, help, labelNames, registers: [registry] }, read);
}
