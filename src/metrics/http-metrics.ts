/**
 * The HTTP output's metrics (`--http` on send, relay and recv; src/http/stream-server.ts),
 * read from its live stats at scrape time. One `listen` label: the server's base URL.
 */
import type { Registry } from 'prom-client';

import type { HttpStats } from '../http/stream-server.js';

import { counter, gauge, type Sample } from './collector.js';

/** The HTTP output's own counters (src/http/stream-server.ts). */
export type HttpStatsLike = HttpStats;

export const HTTP_METRIC_NAMES = [
  'ipcast_http_clients',
  'ipcast_http_clients_accepted_total',
  'ipcast_http_clients_dropped_total',
  'ipcast_http_sent_bytes_total',
  'ipcast_http_responses_total',
] as const;

export function registerHttpMetrics(registry: Registry, source: HttpStatsLike | (() => HttpStatsLike | undefined)): void {
  const get = (): HttpStatsLike[] => {
    const s = typeof source === 'function' ? source() : source;
    return s ? [s] : [];
  };
  const each = (pick: (s: HttpStatsLike) => number) => (): Sample[] => get().map((s) => ({ labels: { listen: s.url }, value: pick(s) }));
  gauge(registry, 'ipcast_http_clients', 'HTTP stream clients (/channel/N, /udp/GROUP:PORT) connected now.', ['listen'], each((s) => s.clients));
  counter(registry, 'ipcast_http_clients_accepted_total', 'HTTP stream clients served since start.', ['listen'], each((s) => s.clientsAccepted));
  counter(
    registry,
    'ipcast_http_clients_dropped_total',
    'HTTP stream clients that went away, by reason (slow: dropped for falling 4 MiB behind; refused: over the client limit; closed: left by themselves).',
    ['listen', 'reason'],
    () =>
      get().flatMap((s) => [
        { labels: { listen: s.url, reason: 'slow' }, value: s.clientsDropped },
        { labels: { listen: s.url, reason: 'refused' }, value: s.clientsRefused },
        { labels: { listen: s.url, reason: 'closed' }, value: s.clientsClosed },
      ]),
  );
  counter(registry, 'ipcast_http_sent_bytes_total', 'Stream body bytes written to HTTP clients (every client counted).', ['listen'], each((s) => s.bytes));
  counter(registry, 'ipcast_http_responses_total', 'HTTP responses by status code (200, 400, 404, 405, 431, 503, 505).', ['listen', 'code'], () =>
    get().flatMap((s) => Object.entries(s.responses).map(([code, value]) => ({ labels: { listen: s.url, code }, value }))),
  );
}
