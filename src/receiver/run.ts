/**
 * `ipcast recv` as a library call: checks the decoder, starts the receiver, serves metrics
 * when asked, stops when the stream is over or the caller's AbortSignal fires, says a one-line
 * summary per transport, and returns the exit code. Signals and stderr are the command's
 * (src/commands/recv.ts): this module only calls the `log` it is given.
 */
import { cpuUsage } from 'node:process';

import { UsageError, type ExitCode } from '../shared/errors.js';
import { findExecutable } from '../shared/executable.js';
import { serveMetrics } from '../metrics/serve.js';
import { emptyReceiverStats, type ReceiverStats } from './stats.js';
import type { TransportKind } from '../transport/stats.js';
import type { Endpoint } from '../shared/url.js';
import type { SlowChildPolicy } from './child-feeder.js';
import { startDecoderChild } from './decoder-child.js';
import { Receiver } from './receiver.js';
import { openReceiverHttp } from '../http/receiver-http.js';

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
  /** The writers' wait policy (µs, 0..10000); default defaultWriteSpinUs() (src/transport/child.ts). */
  spinUs?: number;
  metrics?: { host: string; port: number };
  /** Acknowledge chunks that ask for it (send --flow ack). */
  flowAck?: boolean;
  /** --http: /channel/N, /udp/GROUP:PORT, /playlist.m3u, /guide.json (src/http/); at most
   *  maxClients stream clients at once (503 past them). */
  http?: { host: string; port: number; maxClients?: number };
  stats?: ReceiverStats;
  log: (message: string) => void;
  /** The children's stderr (sinks and decoders), line by line with their transport's name,
   *  instead of inherited: a live terminal view prints them above itself. */
  childStderr?: (line: string) => void;
  /** Stop (exit code 0) when this fires: the command's SIGINT/SIGTERM, a test, the demo. */
  signal: AbortSignal;
}

/** A receiver that is up: its input is open, its children run, its metrics are served. */
export interface ReceiverRun {
  /** The UDP port it listens on (undefined for TCP). */
  readonly port: number | undefined;
  /** Resolves with the exit code once it has stopped and said its summary. */
  readonly done: Promise<ExitCode>;
}

export async function runReceiver(o: RunReceiverOptions): Promise<ExitCode> {
  return (await startReceiverRun(o)).done;
}

/** Starts the receiver and returns once it is up (the demo starts its sender then). */
export async function startReceiverRun(o: RunReceiverOptions): Promise<ReceiverRun> {
  const log = o.log;
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
    ...(o.flowAck ? { flowAck: true } : {}),
    stats,
    startChild: (kind, sink) =>
      startDecoderChild(kind, {
        ...(o.decoder ? { decoder: o.decoder } : {}),
        ...(o.spinUs !== undefined ? { spinUs: o.spinUs } : {}),
        stats: sink,
        log,
        ...(o.childStderr ? { stderrLines: (line: string) => o.childStderr!(`${kind}: ${line}`) } : {}),
      }),
    log,
  });
  let metrics: { url: string; close(): Promise<void> } | undefined;
  try {
    await receiver.start();
    if (o.metrics) metrics = await serveMetrics(o.metrics, { receiver: stats, ...(http ? { http: http.server.stats } : {}) });
  } catch (err) {
    // A child that could not start (a kernel limit, a missing program), a metrics port in use:
    // close the input and every child that did start, and remove their System V objects, before
    // saying why.
    await receiver.stop();
    await http?.server.close();
    throw err;
  }
  const ep = o.endpoint;
  const listens = ep.proto === 'udp' || (ep.proto === 'srt' && ep.mode === 'listener') || ep.proto === 'rist';
  const where =
    ep.proto === 'udp'
      ? `listening on ${ep.url} (port ${receiver.listeningPort}; chunks ${receiver.nativePath ? 'through the native relay' : 'through JS'})`
      : listens
        ? `listening on ${ep.url} (port ${receiver.listeningPort})`
        : `connecting to ${ep.url}`;
  log(`${where}; transports ${o.transports.join(',')}; decoder ${o.decoder ? o.decoder.join(' ') : 'ipcast-sink (verify and discard)'}${metrics ? `; metrics ${metrics.url}` : ''}${http ? `; http ${http.server.stats.url}playlist.m3u` : ''}`);

  const stopped = new Promise<ExitCode>((resolve) => {
    if (o.signal.aborted) resolve(0);
    o.signal.addEventListener('abort', () => resolve(0), { once: true });
  });
  const done = (async (): Promise<ExitCode> => {
    try {
      const code = await Promise.race([receiver.done, stopped]);
      await receiver.stop();
      // This process's own CPU time (every thread, the native relay's included; not the children's).
      const cpu = cpuUsage();
      log(`${summary(stats)}; cpu ${((cpu.user + cpu.system) / 1e6).toFixed(3)} s`);
      return code as ExitCode;
    } finally {
      await receiver.stop();
      await metrics?.close();
      await http?.server.close();
    }
  })();
  return { port: receiver.listeningPort, done };
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
  if (s.flowAck) parts.push(`flow ack: acknowledged ${s.flowAck.acked}, held back ${s.flowAck.heldBack} while a decoder was behind`);
  for (const l of s.links ?? []) {
    parts.push(
      `${l.proto} ${l.peer}: packets ${l.packetsReceived}, lost ${l.lost}, retransmitted ${l.retransmitted}, recovered ${l.recovered} (fec ${l.fecRecovered}), dropped too late ${l.droppedTooLate}, rtt ${l.rttMs.toFixed(3)} ms`,
    );
  }
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
