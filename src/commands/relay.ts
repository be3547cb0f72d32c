import { list, parseInteger, parseListenAddress, str } from '../shared/args.js';
import { UsageError } from '../shared/errors.js';
import { serveMetrics } from '../metrics/serve.js';
import { parseEndpoint } from '../shared/url.js';
import { Relay } from '../relay/relay.js';
import { endpointArgument, type Command } from './command.js';

export const relayCommand: Command = {
  name: 'relay',
  summary: 're-emit a stream (data, guide, end of stream) to other groups, hosts and TCP clients',
  usage: `Usage: ipcast relay IN --to OUT [--to OUT ...] [options]

IN       any URL ipcast recv takes: udp://@GROUP:PORT?iface=ADDR[&source=ADDR], udp://@:PORT,
         udp://@[ff3e::1]:PORT?iface=NAME, tcp://HOST:PORT (connects, reconnects),
         srt://@:PORT, srt://HOST:PORT, rist://@:PORT, rist://@GROUP:PORT?iface=ADDR
         (docs/repair.md)
         rtp://@GROUP:PORT?iface=ADDR, rtp://@:PORT (RTP in: channel 1, RTP sequence numbers)
OUT      any URL ipcast send takes: udp://GROUP:PORT?iface=ADDR[&ttl=N], udp://HOST:PORT,
         tcp://ADDR:PORT (listens; serves many receivers), srt://@:PORT (serves callers),
         srt://HOST:PORT, rist://HOST:PORT, rist://GROUP:PORT?iface=ADDR,
         rtp://GROUP:PORT?iface=ADDR, rtp://HOST:PORT (RTP out: one channel, PT 33 for MPEG-TS)

Every chunk is checked as recv checks it (bad ones dropped and counted), put in sequence order
per channel, and sent on with its header as it came: sequence numbers, sender timestamps and
channel ids are preserved, so receivers downstream count losses against the origin.

Options:
  --to URL             an output (repeat for several); every output gets every chunk
                       (none is needed with --http)
  --exit-on-eos        exit once every channel has ended (its end of stream passed on)
  --max-clients N      TCP receivers served at once per tcp:// output, and HTTP stream
                       clients of --http; more are refused (HTTP: 503)
  --http [HOST:]PORT   serve players over HTTP (HOST defaults to 127.0.0.1): /channel/N,
                       /udp/GROUP:PORT[?iface=ADDR] (udpxy's way: joined on the first client,
                       left after the last; iface defaults to IN's, else 127.0.0.1),
                       /playlist.m3u, /guide.json
  --sdp FILE           write the session description of the rtp:// outputs
  --metrics [HOST:]PORT  serve /metrics and the dashboard (HOST defaults to 127.0.0.1)
  -h, --help           this text

A TCP or HTTP receiver that falls 4 MiB behind is dropped; a full UDP output misses the chunk (counted).
SIGINT/SIGTERM: end of stream for every open channel on every output, exit 0.

Examples:
  ipcast relay 'udp://@239.13.0.1:5004?iface=10.13.1.2' --to tcp://0.0.0.0:5005
  ipcast relay tcp://10.13.1.2:5005 --to 'udp://239.14.0.1:5004?iface=10.13.3.2&ttl=4'`,
  options: {
    to: { type: 'string', multiple: true },
    'exit-on-eos': { type: 'boolean' },
    'max-clients': { type: 'string' },
    metrics: { type: 'string' },
    http: { type: 'string' },
    sdp: { type: 'string' },
  },
  run: async ({ values, positionals }) => {
    const input = endpointArgument('relay', positionals);
    const tos = list(values.to);
    if (tos.length === 0 && values.http === undefined) throw new UsageError("relay: no outputs: give at least one --to URL or --http (see 'ipcast relay --help')", 'ERR_BAD_ARGUMENT');
    const outputs = tos.map((t) => parseEndpoint(t, 'send'));
    const metricsAt = str(values.metrics) === undefined ? undefined : parseListenAddress(str(values.metrics)!);
    const maxText = str(values['max-clients']);
    const http = str(values.http) === undefined ? undefined : parseListenAddress(str(values.http)!, '--http');
    const sdpFile = str(values.sdp);
    if (sdpFile !== undefined && !outputs.some((o) => o.proto === 'udp' && o.rtp)) throw new UsageError('relay: --sdp needs an rtp:// output', 'ERR_BAD_ARGUMENT');
    const log = (line: string): void => void process.stderr.write(`ipcast relay: ${line}\n`);
    const relay = new Relay({
      input,
      outputs,
      exitOnEos: values['exit-on-eos'] === true,
      ...(maxText !== undefined ? { maxClients: parseInteger(maxText, '--max-clients', 1, 100_000) } : {}),
      ...(http ? { http } : {}),
      ...(sdpFile !== undefined ? { sdpFile } : {}),
      log,
    });
    await relay.start();
    const metrics = metricsAt
      ? await serveMetrics(metricsAt, { receiver: relay.input, sender: relay.output, http: () => relay.httpServer()?.stats }).catch(async (err: unknown) => {
          await relay.stop();
          throw err;
        })
      : undefined;
    const listening = relay.tcpAddresses().map((a) => ` (${a.url} on port ${a.port})`).join('');
    const h = relay.httpServer();
    const httpUrl = h ? `http://${h.address.host.includes(':') ? `[${h.address.host}]` : h.address.host}:${h.address.port}/` : undefined;
    log(`relaying ${input.url} -> ${[...outputs.map((o) => o.url), ...(httpUrl ? [httpUrl] : [])].join(', ')}${listening}`);
    if (httpUrl) log(`http ${httpUrl}playlist.m3u`);
    if (metrics) log(`metrics ${metrics.url.replace(/\/$/, '')}/metrics, dashboard ${metrics.url}`);
    const onSignal = (): void => void relay.finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const code = await relay.done;
      log(relay.summary());
      return code as 0 | 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await metrics?.close();
    }
  },
};
