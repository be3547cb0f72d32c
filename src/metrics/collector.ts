/**
 * A prom-client metric whose values are read from plain stats objects at scrape time.
 *
 * The receiver and the sender keep their figures as running totals in plain objects
 * (src/receiver/stats.ts, src/transport/stats.ts, src/sender/stats.ts). Rather than mirroring every increment into
 * prom-client Counters, each metric here is given a `read()` function that is called in
 * get() (prom-client's collect step) and returns the current samples. Counters are kept
 * monotonic per label set: a reading below the last one exported (a stats object that
 * was replaced, a kernel counter that restarted with a new socket) is added on top of what
 * was already exported instead of going backwards.
 *
 * Histograms are built from the sink's bucketed reports (LatencyHistogram: per-bucket,
 * non-cumulative counts in microseconds) and exported the Prometheus way: cumulative
 * `_bucket{le=...}` in seconds ending with `le="+Inf"`, `_sum` in seconds and `_count`.
 */
import type { Metric, Registry } from 'prom-client';

import type { LatencyHistogram } from '../transport/stats.js';

export type Labels = Record<string, string>;
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  histogram: LatencyHistogram;
}

interface ValueOut {
  value: number;
  labels: Labels;
  metricName?: string;
}

interface MetricOut {
  name: string;
  help: string;
  type: MetricKind;
  aggregator: 'sum';
  values: ValueOut[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class ReadMetric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum' as const;
  abstract readonly type: MetricKind;

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME_RE.test(name)) throw new TypeError(`invalid metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__')) throw new TypeError(`invalid label name '${l}' on ${name}`);
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected checkLabels(labels: Labels): Labels {
    const out: Labels = {};
    for (const l of this.labelNames) out[l] = labels[l] ?? '';
    for (const l of Object.keys(labels)) {
      if (!this.labelNames.includes(l)) throw new TypeError(`label '${l}' is not declared on ${this.name}`);
    }
    return out;
  }

  abstract get(): Promise<MetricOut>;

  register(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }
}

/** A counter or a gauge read at scrape time. */
export class ReadValueMetric extends ReadMetric {
  readonly type: 'counter' | 'gauge';
  private readonly read: () => Sample[];
  /** counters: per label set, the last raw reading and what was exported. */
  private readonly last = new Map<string, { raw: number; exported: number }>();

  constructor(opts: { name: string; help: string; type: 'counter' | 'gauge'; labelNames?: readonly string[]; read: () => Sample[] }) {
    super(opts.name, opts.help, opts.labelNames ?? []);
    if (opts.type === 'counter' && !opts.name.endsWith('_total')) throw new TypeError(`counter ${opts.name} must end in _total`);
    this.type = opts.type;
    this.read = opts.read;
  }

  async get(): Promise<MetricOut> {
    const values: ValueOut[] = [];
    for (const s of this.read()) {
      const labels = this.checkLabels(s.labels);
      let value = Number.isFinite(s.value) ? s.value : 0;
      if (this.type === 'counter') value = this.monotonic(labels, Math.max(0, value));
      values.push({ labels, value });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  private monotonic(labels: Labels, raw: number): number {
    const key = JSON.stringify(labels);
    const prev = this.last.get(key);
    let exported = raw;
    if (prev) exported = raw >= prev.raw ? prev.exported + (raw - prev.raw) : prev.exported + raw;
    this.last.set(key, { raw, exported });
    return exported;
  }
}

/** Prometheus `le` label text for a bound in seconds. */
export function leLabel(seconds: number): string {
  if (seconds === Infinity) return '+Inf';
  // Microsecond bounds divided by 1e6 can pick up float noise (0.000025000000000000001): round.
  return String(Number(seconds.toPrecision(12)));
}

/**
 * Converts one sink-reported histogram to Prometheus samples (seconds, cumulative buckets).
 * `_count` is the sum of the bucket counts, so the +Inf bucket and `_count` always agree.
 */
export function histogramSamples(name: string, labels: Labels, h: LatencyHistogram): ValueOut[] {
  const out: ValueOut[] = [];
  let cumulative = 0;
  for (let i = 0; i < h.bucketsUs.length; i++) {
    cumulative += Math.max(0, h.counts[i] ?? 0);
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: leLabel(h.bucketsUs[i]! / 1e6) }, value: cumulative });
  }
  cumulative += Math.max(0, h.counts[h.bucketsUs.length] ?? 0);
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  out.push({ metricName: `${name}_sum`, labels, value: Math.max(0, h.sumUs) / 1e6 });
  out.push({ metricName: `${name}_count`, labels, value: cumulative });
  return out;
}

/** A histogram read at scrape time from LatencyHistogram objects (microseconds). */
export class ReadHistogramMetric extends ReadMetric {
  readonly type = 'histogram' as const;
  private readonly read: () => HistogramSample[];

  constructor(opts: { name: string; help: string; labelNames?: readonly string[]; read: () => HistogramSample[] }) {
    super(opts.name, opts.help, opts.labelNames ?? []);
    if (this.labelNames.includes('le')) throw new TypeError(`'le' is reserved on histogram ${opts.name}`);
    this.read = opts.read;
  }

  async get(): Promise<MetricOut> {
    const values: ValueOut[] = [];
    for (const s of this.read()) values.push(...histogramSamples(this.name, this.checkLabels(s.labels), s.histogram));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** Shorthands used by the receiver and sender metric tables. */
export function counter(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Sample[]): ReadValueMetric {
  return new ReadValueMetric({ name, help, type: 'counter', labelNames, read }).register(registry);
}

export function gauge(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Sample[]): ReadValueMetric {
  return new ReadValueMetric({ name, help, type: 'gauge', labelNames, read }).register(registry);
}

export function histogram(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => HistogramSample[]): ReadHistogramMetric {
  return new ReadHistogramMetric({ name, help, labelNames, read }).register(registry);
}
