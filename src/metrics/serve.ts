/**
 * The entry point the commands import (`ipcast recv|send|demo --metrics`): serveMetrics()
 * and the types it returns. The implementation is in server.ts.
 */
export { serveMetrics, type ServedMetrics } from './server.js';
export type { SenderStatsLike } from './sender-metrics.js';
export type { MetricsSources } from './registry.js';
