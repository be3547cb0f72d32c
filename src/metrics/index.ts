/** Prometheus metrics, the dashboard snapshot and the metrics server: exports only. */
export { counter, gauge, histogram, leLabel, LatencyHistogramMetric, type HistogramSample, type Labels, type Sample } from './collector.js';
export { presentTransports, RECEIVER_METRIC_NAMES, registerReceiverMetrics } from './receiver-metrics.js';
export {
  registerSenderMetrics,
  SENDER_METRIC_NAMES,
  type SenderChannelStatsLike,
  type SenderOutputStatsLike,
  type SenderStatsLike,
} from './sender-metrics.js';
export { createMetricsRegistry, ipcastVersion, registerBuildInfo, type CreateRegistryOptions, type MetricsSources } from './registry.js';
export {
  createSnapshotSource,
  type DashboardSnapshot,
  type NetworkSnapshot,
  type SenderOutputSnapshot,
  type SnapshotSources,
  type TransportSnapshot,
} from './snapshot.js';
export {
  DASHBOARD_DIR,
  PUSH_INTERVAL_MS,
  serveMetrics,
  startMetricsServer,
  type MetricsServer,
  type MetricsServerOptions,
  type ServedMetrics,
} from './server.js';
