/**
 * `ipcast demo` / `npm start`: the whole relay on one machine, with nothing to install or
 * configure. A sender plays the built-in test tone to a loopback multicast group (interface
 * 127.0.0.1, TTL 1: nothing leaves the machine); a receiver joins it and fans out to pipe,
 * shm and msg; /metrics and the dashboard are served; a comparison table is redrawn in place
 * every second (on a TTY; written again each second otherwise) until Ctrl-C or --seconds.
 */
import dgram from 'node:dgram';

import { RuntimeError, type ExitCode } from '../shared/errors.js';
import { serveMetrics } from '../shared/metrics/serve.js';
import { emptyReceiverStats, TRANSPORT_KINDS } from '../shared/stats.js';
import { parseEndpoint } from '../shared/url.js';
import { runReceiver } from '../receiver/run.js';
import { resolveSource, startSender, type Sender } from '../sender/index.js';
import { ComparisonTable } from './comparison-table.js';
import { LiveView } from '../shared/live-view.js';

export interface DemoOptions {
  seconds?: number;
  metrics: { host: string; port: number };
  /** bits/s for the tone; default its natural rate (WAV 44.1 kHz 16-bit mono). */
  rate?: number;
  out?: NodeJS.WriteStream;
}

export const DEMO_GROUP = '239.255.42.42';

export async function runDemo(o: DemoOptions): Promise<ExitCode> {
  const out = o.out ?? process.stdout;
  // On a TTY the table is redrawn in place and log lines go above it (on the same terminal);
  // otherwise the table is written every second and log lines go to stderr.
  const view = new LiveView(out);
  const log = (m: string): void => (view.tty ? view.log(`ipcast demo: ${m}`) : void process.stderr.write(`ipcast demo: ${m}\n`));
  const port = await freeUdpPort();
  const stats = emptyReceiverStats();
  let sender: Sender | undefined;
  let senderFailed = false;
  const stop = new AbortController();

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

  // Stop the sender first (its end of stream lets the children finish cleanly), then the receiver.
  const onSignal = (): void => void (sender?.stop() ?? Promise.resolve()).finally(() => stop.abort());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const code = await runReceiver({
      endpoint: parseEndpoint(`udp://@${DEMO_GROUP}:${port}?iface=127.0.0.1`, 'recv'),
      format: 'ipcast',
      transports: [...TRANSPORT_KINDS],
      exitOnEos: false,
      maxBufferBytes: 8 << 20,
      policy: 'drop-oldest',
      maxRestarts: 5,
      stats,
      signal: stop.signal,
      handleSignals: false,
      log: (m) => log(`recv: ${m}`),
      onReady: () => {
        void (async () => {
          const channels = await resolveSource('tone');
          const base = metrics.url.replace(/\/$/, '');
          sender = await startSender({
            channels,
            outputs: [parseEndpoint(`udp://${DEMO_GROUP}:${port}?iface=127.0.0.1&ttl=1`, 'send')],
            ...(o.rate !== undefined ? { rate: o.rate } : {}),
            log: (m) => log(`send: ${m}`),
          });
          view.log(
            `ipcast demo: tone -> udp://${DEMO_GROUP}:${port} (iface 127.0.0.1) -> pipe, shm, msg\n` +
              `  dashboard  ${base}/\n  metrics    ${base}/metrics\n` +
              (o.seconds ? `  stopping after ${o.seconds} s` : '  Ctrl-C to stop'),
          );
          ticker = setInterval(draw, 1000);
          if (o.seconds) timer = setTimeout(onSignal, o.seconds * 1000);
        })().catch((err: Error) => {
          log(`cannot start the sender: ${err.message}`);
          senderFailed = true;
          stop.abort();
        });
      },
    });
    if (ticker) clearInterval(ticker);
    if (timer) clearTimeout(timer);
    draw();
    view.done();
    return senderFailed ? 1 : (code as ExitCode);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (ticker) clearInterval(ticker);
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
