/**
 * Builds a prom-client Registry with ipcast's metrics: build info, process defaults, and
 * the receiver's and/or the sender's figures. Callers may pass their own Registry (tests do).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { version as nodeVersion } from 'node:process';

import { collectDefaultMetrics, Registry } from 'prom-client';

import { PACKAGE_ROOT } from '../shared/package-root.js';
import type { ReceiverStats } from '../receiver/stats.js';
import { gauge } from './collector.js';
import { registerLinkMetrics } from './link-metrics.js';
import { registerReceiverMetrics } from './receiver-metrics.js';
import { registerSenderMetrics, type SenderStatsLike } from './sender-metrics.js';
import { registerHttpMetrics, type HttpStatsLike } from './http-metrics.js';

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

let version: string | undefined;

/** ipcast's version from package.json ('unknown' if it cannot be read). */
export function ipcastVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export interface MetricsSources {
  receiver?: ReceiverStats | (() => ReceiverStats);
  sender?: SenderStatsLike | (() => SenderStatsLike);
  /** --http: the HTTP output's stats (src/http/stream-server.ts). */
  http?: HttpStatsLike | (() => HttpStatsLike | undefined);
}

export interface CreateRegistryOptions extends MetricsSources {
  /** Register into this registry instead of a new one. */
  registry?: Registry;
  /** process_* and nodejs_* metrics from prom-client (default true). */
  defaultMetrics?: boolean;
}

export function registerBuildInfo(registry: Registry, roles: string[]): void {
  gauge(registry, 'ipcast_build_info', 'ipcast build information; value 1.', ['version', 'nodejs', 'role'], () => [
    { labels: { version: ipcastVersion(), nodejs: nodeVersion, role: roles.join(',') || 'none' }, value: 1 },
  ]);
}

export function createMetricsRegistry(options: CreateRegistryOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  const roles = [...(options.sender ? ['sender'] : []), ...(options.receiver ? ['receiver'] : [])];
  registerBuildInfo(registry, roles);
  if (options.receiver) registerReceiverMetrics(registry, options.receiver);
  if (options.sender) registerSenderMetrics(registry, options.sender);
  if (options.receiver || options.sender) {
    const { receiver, sender } = options;
    const read = <T>(s: T | (() => T) | undefined): T | undefined => (typeof s === 'function' ? (s as () => T)() : s);
    registerLinkMetrics(registry, () => [
      ...((read(receiver) as ReceiverStats | undefined)?.links ?? []),
      ...((read(sender) as { links?: ReceiverStats['links'] } | undefined)?.links ?? []),
    ]);
  }
  if (options.http) registerHttpMetrics(registry, options.http);
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client also exports these three gauges with a _total suffix, which `promtool check
    // metrics` rejects; the same figures stay available as nodejs_active_{handles,requests,resources}.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  return registry;
}
