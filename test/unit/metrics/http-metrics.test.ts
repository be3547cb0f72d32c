/**
 * The HTTP output's metrics (src/shared/metrics/http-metrics.ts) on synthetic stats: every
 * name, its labels and values, and `promtool check metrics` on them.
 */
import { describe, expect, it } from 'vitest';

import { HTTP_METRIC_NAMES } from '../../../src/metrics/http-metrics.js';
import { createMetricsRegistry } from '../../../src/metrics/registry.js';
import { parseMetrics, promtoolCheck, sample } from '../../helpers/metrics-parse.js';

describe('HTTP metrics', () => {
  it('exports clients, drops by reason, bytes and responses by code; promtool passes', async () => {
    const stats = { url: 'http://127.0.0.1:8000/', clients: 3, clientsAccepted: 9, clientsDropped: 2, clientsRefused: 1, clientsClosed: 3, bytes: 123456, chunks: 90, responses: { 200: 12, 404: 2, 431: 1 } };
    const registry = createMetricsRegistry({ http: () => stats, defaultMetrics: false });
    const text = await registry.metrics();
    const parsed = parseMetrics(text);
    for (const name of HTTP_METRIC_NAMES) expect(parsed.types.has(name), name).toBe(true);
    const listen = { listen: stats.url };
    expect(sample(parsed, 'ipcast_http_clients', listen)).toBe(3);
    expect(sample(parsed, 'ipcast_http_clients_accepted_total', listen)).toBe(9);
    expect(sample(parsed, 'ipcast_http_clients_dropped_total', { ...listen, reason: 'slow' })).toBe(2);
    expect(sample(parsed, 'ipcast_http_clients_dropped_total', { ...listen, reason: 'refused' })).toBe(1);
    expect(sample(parsed, 'ipcast_http_clients_dropped_total', { ...listen, reason: 'closed' })).toBe(3);
    expect(sample(parsed, 'ipcast_http_sent_bytes_total', listen)).toBe(123456);
    expect(sample(parsed, 'ipcast_http_responses_total', { ...listen, code: '431' })).toBe(1);
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('no --http: no series', async () => {
    const text = await createMetricsRegistry({ http: () => undefined, defaultMetrics: false }).metrics();
    expect(text).not.toMatch(/^ipcast_http_clients /m);
  });
});
