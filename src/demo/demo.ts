/**
 * `ipcast demo` / `npm start`: the whole relay on one machine, with nothing to install or
 * configure. A sender plays the built-in test tone to a loopback multicast group (interface
 * 127.0.0.1, TTL 1: nothing leaves the machine); a receiver joins it and fans out to pipe,
 * shm and msg; /metrics and the dashboard are served; a comparison table is redrawn in place
 * every second (on a TTY; written again each second otherwise) until Ctrl-C or --seconds.
 */
import dgram from 'node:dgram';

import { RuntimeError, type ExitCode } from '../shared/errors.js';
import { serveMetrics } from '../metrics/serve.js';
import { emptyReceiverStats } from '../receiver/stats.js';
import { TRANSPORT_KINDS } from '../transport/stats.js';
import { parseEndpoint } from '../shared/url.js';
import { startReceiverRun } from '../receiver/run.js';
import { resolveSource, startSender, type Sender } from '../sender/index.js';
import { ComparisonTable } from './comparison-table.js';
import { LiveView } from '../shared/live-view.js';

export interface DemoOptions {
  seconds?: number;
  metrics: { host: string; port: number };
  /** bits/s for the tone; default its natural rate (WAV 44.1 kHz 16-bit mono). */
  rate?: number;
  /** Where the table is drawn (redrawn in place on a terminal). */
  out: NodeJS.WritableStream & { isTTY?: boolean };
  log: (message: string) => void;
  /** Stop: the sender first (its end of stream lets the children finish), then the receiver. */
  signal: AbortSignal;
}

export const DEMO_GROUP = '239.255.42.42';

export async function runDemo(o: DemoOptions): Promise<ExitCode> {
  const { out } = o;
  // On a TTY the table is redrawn in place and log lines go above it (on the same terminal);
  // otherwise the table is written every second and log lines go where the command says.
  const view = new LiveView(out);
  const log = (m: string): void => (view.tty ? view.log(`ipcast demo: ${m}`) : o.log(m));
  const port = await freeUdpPort();
  const stats = emptyReceiverStats();
  let sender: Sender | undefined;
  const stopReceiver = new AbortController();

  let metrics: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    metrics = await serveMetrics(o.metrics, { receiver: stats, sender: () => sender?.stats ?? { startedAt: Date.now(), channels: [], outputs: [], guides: 0 } });
  } catch (err) {
    throw new RuntimeError(`${(err as Error).message} (choose another with --metrics PORT)`, 'ERR_LISTEN', { cause: err });
  }

  const table = new ComparisonTable();
  const draw = (): void => view.draw(table.render(stats));
  let ticker: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => void (sender?.stop() ?? Promise.resolve()).finally(() => stopReceiver.abort());
  if (o.signal.aborted) stop();
  o.signal.addEventListener('abort', stop, { once: true });
  try {
    const run = await startReceiverRun({
      endpoint: parseEndpoint(`udp://@${DEMO_GROUP}:${port}?iface=127.0.0.1`, 'recv'),
      format: 'ipcast',
      transports: [...TRANSPORT_KINDS],
      exitOnEos: false,
      maxBufferBytes: 8 << 20,
      policy: 'drop-oldest',
      maxRestarts: 5,
      stats,
      signal: stopReceiver.signal,
      log: (m) => log(`recv: ${m}`),
      ...(view.tty ? { childStderr: (line: string) => view.log(`  ${line}`) } : {}),
    });
    let senderFailed = false;
    try {
      // The receiver is up: start the sender, unless the demo was stopped meanwhile.
      if (!stopReceiver.signal.aborted) {
        sender = await startSender({
          channels: await resolveSource('tone'),
          outputs: [parseEndpoint(`udp://${DEMO_GROUP}:${port}?iface=127.0.0.1&ttl=1`, 'send')],
          ...(o.rate !== undefined ? { rate: o.rate } : {}),
          log: (m) => log(`send: ${m}`),
        });
        const base = metrics.url.replace(/\/$/, '');
        view.log(
          `ipcast demo: tone -> udp://${DEMO_GROUP}:${port} (iface 127.0.0.1) -> pipe, shm, msg\n` +
            `  dashboard  ${base}/\n  metrics    ${base}/metrics\n` +
            (o.seconds ? `  stopping after ${o.seconds} s` : '  Ctrl-C to stop'),
        );
        ticker = setInterval(draw, 1000);
        if (o.seconds) timer = setTimeout(stop, o.seconds * 1000);
      }
    } catch (err) {
      log(`cannot start the sender: ${(err as Error).message}`);
      senderFailed = true;
      stopReceiver.abort();
    }
    const code = await run.done;
    if (ticker) clearInterval(ticker);
    if (timer) clearTimeout(timer);
    draw();
    view.done();
    return senderFailed ? 1 : code;
  } finally {
    o.signal.removeEventListener('abort', stop);
    if (ticker) clearInterval(ticker);
    if (timer) clearTimeout(timer);
    await sender?.stop();
    await metrics.close();
  }
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
