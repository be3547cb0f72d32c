/**
 * The metrics HTTP server: `GET /metrics` for Prometheus, `GET /` the live dashboard and its
 * static files (src/dashboard/, shipped in the package), `GET /snapshot.json` the dashboard's
 * data once, and a WebSocket at `/ws` that pushes a DashboardSnapshot every 500 ms.
 *
 * Binds 127.0.0.1 unless told otherwise; port 0 picks a free port (the result says which).
 * close() ends every HTTP connection and WebSocket client, so a test's afterEach leaves
 * nothing behind.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';

import { parseListenAddress } from '../shared/args.js';
import { describeSystemError, RuntimeError } from '../shared/errors.js';
import { PACKAGE_ROOT } from '../shared/package-root.js';
import { createMetricsRegistry, ipcastVersion, type MetricsSources } from './registry.js';
import { createSnapshotSource, type DashboardSnapshot } from './snapshot.js';

/** The dashboard's static files: plain files in the package (tsc does not copy them to dist/). */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'src', 'dashboard');
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/axis.js': { file: 'axis.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PUSH_INTERVAL_MS = 500;
/** A client that has this much unsent data skips pushes until it catches up. */
const MAX_BUFFERED_BYTES = 1 << 20;

export interface MetricsServerOptions {
  host?: string;
  port: number;
  registry: Registry;
  snapshot: () => DashboardSnapshot;
  /** How often the WebSocket pushes (default 500 ms). */
  intervalMs?: number;
  /** Where the dashboard's files are (default: the package's src/dashboard). */
  dashboardDir?: string;
}

export interface MetricsServer {
  host: string;
  port: number;
  /** http://HOST:PORT/ (IPv6 hosts in brackets). */
  url: string;
  /** Dashboard clients connected now. */
  clientCount(): number;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = options.dashboardDir ?? DASHBOARD_DIR;
  const intervalMs = options.intervalMs ?? PUSH_INTERVAL_MS;
  const { registry, snapshot } = options;
  const fileCache = new Map<string, Buffer>();
  const sockets = new Set<Socket>();

  const readStatic = (file: string): Buffer => {
    let buf = fileCache.get(file);
    if (!buf) {
      buf = readFileSync(join(dir, file));
      fileCache.set(file, buf);
    }
    return buf;
  };

  const send = (res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/metrics') {
      send(res, req, 200, registry.contentType, await registry.metrics());
      return;
    }
    if (path === '/snapshot.json') {
      send(res, req, 200, 'application/json; charset=utf-8', JSON.stringify(snapshot()));
      return;
    }
    const stat = STATIC_FILES[path];
    if (stat) {
      send(res, req, 200, stat.type, readStatic(stat.file), { 'Content-Security-Policy': CSP });
      return;
    }
    send(res, req, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, req, 500, 'text/plain; charset=utf-8', `${describeSystemError(err)}\n`);
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  // Dashboard clients never send anything that matters: a tiny maxPayload bounds what they can.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: true });
  let timer: NodeJS.Timeout | undefined;
  const push = (clients: Iterable<WebSocket>) => {
    let text: string;
    try {
      text = JSON.stringify(snapshot());
    } catch {
      return;
    }
    for (const ws of clients) {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES) ws.send(text);
    }
  };
  const startTicking = () => {
    if (timer) return;
    timer = setInterval(() => {
      if (wss.clients.size === 0) {
        clearInterval(timer);
        timer = undefined;
        return;
      }
      push(wss.clients);
    }, intervalMs);
    timer.unref();
  };
  wss.on('connection', (ws) => {
    ws.on('error', () => ws.terminate());
    push([ws]);
    startTicking();
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        new RuntimeError(`--metrics: ${describeSystemError(err)}`, 'ERR_METRICS_LISTEN', { cause: err }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port: options.port, exclusive: true });
  });
  server.on('error', () => {
    /* after listening, errors belong to single connections; they are closed by node */
  });

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${hostForUrl(host)}:${port}/`,
    clientCount: () => wss.clients.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (timer) clearInterval(timer);
        timer = undefined;
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

export interface ServedMetrics {
  url: string;
  host: string;
  port: number;
  registry: Registry;
  snapshot: () => DashboardSnapshot;
  close(): Promise<void>;
}

/**
 * What `ipcast recv|send|demo --metrics [HOST:]PORT` call: one registry with the given
 * sources (plus build info and process metrics), the dashboard snapshot, and the server.
 * Throws UsageError on a bad address and RuntimeError when the port cannot be bound.
 */
export async function serveMetrics(
  listen: string | { host?: string; port: number },
  sources: MetricsSources,
  options: { registry?: Registry; defaultMetrics?: boolean; intervalMs?: number } = {},
): Promise<ServedMetrics> {
  const addr = typeof listen === 'string' ? parseListenAddress(listen) : { host: listen.host ?? '127.0.0.1', port: listen.port };
  const registry = createMetricsRegistry({ ...sources, ...options });
  const snapshot = createSnapshotSource({ ...sources, version: ipcastVersion() });
  const server = await startMetricsServer({
    host: addr.host,
    port: addr.port,
    registry,
    snapshot,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
  });
  return { url: server.url, host: server.host, port: server.port, registry, snapshot, close: () => server.close() };
}
