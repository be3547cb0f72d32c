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
  /** Acknowledge chunks that ask for it (send --flow ack). */
  flowAck?: boolean;
  stats?: ReceiverStats;
  log?: (message: string) => void;
  /** Stop when this signal fires (tests, the demo). */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM (default true; the demo handles them itself, to stop its sender first). */
  handleSignals?: boolean;
  /** Called once the input is open and the children are up (the demo starts its sender then). */
  onReady?: (info: { port: number | undefined }) => void;
}

export async function runReceiver(o: RunReceiverOptions): Promise<ExitCode> {
  const log = o.log ?? ((m: string) => process.stderr.write(`ipcast recv: ${m}\n`));
  if (o.decoder) findProgram(o.decoder[0]!);
  const stats = o.stats ?? emptyReceiverStats();
  const receiver = new Receiver({
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
    if (o.metrics) metrics = await serveMetrics(o.metrics, { receiver: stats });
    const ep = o.endpoint;
    const listens = ep.proto === 'udp' || (ep.proto === 'srt' && ep.mode === 'listener') || ep.proto === 'rist';
    const where =
      ep.proto !== 'udp' && listens
        ? `listening on ${ep.url} (port ${receiver.listeningPort})`
        : ep.proto === 'udp'
        ? `listening on ${o.endpoint.url} (port ${receiver.listeningPort}; chunks ${receiver.nativePath ? 'through the native relay' : 'through JS'})`
        : `connecting to ${o.endpoint.url}`;
    log(`${where}; transports ${o.transports.join(',')}; decoder ${o.decoder ? o.decoder.join(' ') : 'ipcast-sink (verify and discard)'}${metrics ? `; metrics ${metrics.url}` : ''}`);
    o.onReady?.({ port: receiver.listeningPort });
    const code = await Promise.race([receiver.done, stopped]);
    await receiver.stop();
    // This process's own CPU time (every thread, the native relay's included; not the children's).
    const cpu = process.cpuUsage();
    log(`${summary(stats)}; cpu ${((cpu.user + cpu.system) / 1e6).toFixed(3)} s`);
    return code as ExitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await receiver.stop();
    await metrics?.close();
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
