/**
 * `ipcast recv` as a library call: checks the decoder, starts the receiver, serves metrics
 * when asked, stops cleanly on SIGINT/SIGTERM, prints a one-line summary per transport, and
 * returns the exit code.
 */
import { UsageError, type ExitCode } from '../shared/errors.js';
import { findExecutable } from '../shared/executable.js';
import { serveMetrics } from '../shared/metrics/serve.js';
import { emptyReceiverStats, type ReceiverStats, type TransportKind } from '../shared/stats.js';
import type { Endpoint } from '../shared/url.js';
import type { SlowChildPolicy } from './child-feeder.js';
import { startDecoderChild } from './decoder-child.js';
import { Receiver } from './receiver.js';
import { openReceiverHttp } from '../http/receiver-http.js';
import { ComparisonTable } from '../demo/comparison-table.js';
import { LiveView } from '../shared/live-view.js';

export interface RunReceiverOptions {
  endpoint: Endpoint;
  format: 'ipcast' | 'raw';
  transports: TransportKind[];
  channel?: number;
  decoder?: string[];
  exitOnEos: boolean;
  idleTimeoutMs?: number;
  maxBufferBytes: number;
  policy: SlowChildPolicy;
  maxRestarts: number;
  /** The writers' wait policy (µs, 0..10000); default DEFAULT_WRITE_SPIN_US (src/transport/child.ts). */
  spinUs?: number;
  metrics?: { host: string; port: number };
  /** --http: /channel/N, /udp/GROUP:PORT, /playlist.m3u, /guide.json (src/http/). */
  http?: { host: string; port: number };
  stats?: ReceiverStats;
  log?: (message: string) => void;
  /** Redraw a live table in place on this terminal every second (recv on a TTY). */
  liveTable?: NodeJS.WriteStream;
  /** Stop when this signal fires (tests, the demo). */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM (default true; the demo handles them itself, to stop its sender first). */
  handleSignals?: boolean;
  /** Called once the input is open and the children are up (the demo starts its sender then). */
  onReady?: (info: { port: number | undefined }) => void;
}

export async function runReceiver(o: RunReceiverOptions): Promise<ExitCode> {
  const view = o.liveTable ? new LiveView(o.liveTable) : undefined;
  const log = o.log ?? (view ? (m: string) => view.log(`ipcast recv: ${m}`) : (m: string) => process.stderr.write(`ipcast recv: ${m}\n`));
  if (o.decoder) findProgram(o.decoder[0]!);
  const stats = o.stats ?? emptyReceiverStats();
  const http = o.http ? await openReceiverHttp(o.http, o.endpoint, stats, log) : undefined;
  const receiver = new Receiver({
    ...(http ? { tap: http.tap } : {}),
    endpoint: o.endpoint,
    format: o.format,
    ...(o.channel !== undefined ? { channel: o.channel } : {}),
    transports: o.transports,
    exitOnEos: o.exitOnEos,
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
    maxBufferBytes: o.maxBufferBytes,
    policy: o.policy,
    maxRestarts: o.maxRestarts,
    stats,
    startChild: (kind) =>
      startDecoderChild(kind, {
        ...(o.decoder ? { decoder: o.decoder } : {}),
        ...(o.spinUs !== undefined ? { spinUs: o.spinUs } : {}),
        stats: stats.transports[kind]!,
        log,
      }),
    log,
  });
  try {
    await receiver.start();
  } catch (err) {
    // A child that could not start (a kernel limit, a missing program): close the input and
    // every child that did start, and remove their System V objects, before saying why.
    await receiver.stop();
    await http?.server.close();
    throw err;
  }

  let metrics: { url: string; close(): Promise<void> } | undefined;
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    onSignal = (sig) => {
      log(`${sig}: stopping`);
      resolve(0);
    };
    if (o.handleSignals !== false) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    o.signal?.addEventListener('abort', () => resolve(0), { once: true });
  });
  try {
    if (o.metrics) metrics = await serveMetrics(o.metrics, { receiver: stats, ...(http ? { http: http.server.stats } : {}) });
    const where =
      o.endpoint.proto === 'udp'
        ? `listening on ${o.endpoint.url} (port ${receiver.listeningPort}; chunks ${receiver.nativePath ? 'through the native relay' : 'through JS'})`
        : `connecting to ${o.endpoint.url}`;
    const web = http ? `; http ${http.server.stats.url}playlist.m3u` : '';
    log(`${where}; transports ${o.transports.join(',')}; decoder ${o.decoder ? o.decoder.join(' ') : 'ipcast-sink (verify and discard)'}${metrics ? `; metrics ${metrics.url}` : ''}${web}`);
    o.onReady?.({ port: receiver.listeningPort });
    const table = new ComparisonTable();
    const ticker = view ? setInterval(() => view.draw(table.render(stats)), 1000) : undefined;
    const code = await Promise.race([receiver.done, stopped]).finally(() => clearInterval(ticker));
    await receiver.stop();
    view?.done();
    // This process's own CPU time (every thread, the native relay's included; not the children's).
    const cpu = process.cpuUsage();
    log(`${summary(stats)}; cpu ${((cpu.user + cpu.system) / 1e6).toFixed(3)} s`);
    return code as ExitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await receiver.stop();
    await metrics?.close();
    await http?.server.close();
  }
}

export function summary(s: ReceiverStats): string {
  const errors = Object.entries(s.decodeErrors)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const parts = [
    `received ${s.chunksReceived} chunks (${s.bytesReceived} bytes)`,
    `lost ${s.lost}`,
    `reordered ${s.reordered}`,
    `duplicates ${s.duplicates}`,
    `reconnects ${s.reconnects}`,
    `decode errors ${errors || '0'}`,
  ];
  for (const t of Object.values(s.transports)) {
    const measured = t.sink
      ? `sink verified ${t.sinkChunks} chunks, hand-off p50 ${t.handOffLatency.p50Us} us p99 ${t.handOffLatency.p99Us} us`
      : 'sink verified and hand-off latency not measured (the decoder reads the pipe itself)';
    parts.push(
      `${t.transport}: handed off ${t.chunksHandedOff} chunks (${t.bytesHandedOff} bytes), dropped ${t.droppedSlowChild}, restarts ${t.restarts}, ${measured}`,
    );
  }
  return parts.join('; ');
}

/** A decoder that is not there is the user's mistake: one line, exit 2. */
function findProgram(name: string): void {
  if (!findExecutable(name)) {
    throw new UsageError(`decoder '${name}' not found${name.includes('/') ? '' : ' in PATH'} (or not an executable file)`, 'ERR_DECODER_NOT_FOUND');
  }
}
