import { list, parseInteger, parseListenAddress, parseRate, str } from '../shared/args.js';
import { OptionError, UsageError } from '../shared/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES } from '../shared/protocol.js';
import { parseEndpoint } from '../shared/url.js';
import { onStopSignals } from './signals.js';
import type { Format } from '../sender/index.js';
import type { Command } from './command.js';

export const sendCommand: Command = {
  name: 'send',
  summary: 'stream a file, a folder of channels, stdin or a test tone to UDP/TCP outputs',
  usage: `Usage: ipcast send SOURCE --to URL [--to URL ...] [--http [HOST:]PORT] [options]

SOURCE   FILE                 one channel
         FOLDER               one channel per entry, numbered from 1 in name order: a sub-folder
                              (its files in order; desc.txt = description) or a file
         -                    stdin
         tone[:HZ[:SECONDS]]  built-in test signal: WAV sine, 44.1 kHz 16-bit mono (705.6 kbit/s),
                              440 Hz and endless by default
URL      udp://GROUP:PORT?iface=ADDR[&ttl=N][&loop=0|1]  multicast (iface required, ttl defaults to 1)
         udp://[ff15::1]:PORT?iface=NAME|ADDR6[&ttl=N]  IPv6 multicast (ttl: the hop limit)
         udp://HOST:PORT                              unicast
         udp://HOST:PORT?broadcast=1                  broadcast
         tcp://ADDR:PORT                              listen; serves many receivers
         srt://HOST:PORT[?latency=MS&passphrase=…&pbkeylen=16|24|32&packetfilter=fec,cols:C,rows:R[,arq:never]]
                                                      SRT caller (libsrt); mode=rendezvous too
         srt://@:PORT[?…]                             SRT listener: serves many callers
         rist://HOST:PORT[?buffer=MS]                 RIST simple profile (librist)
         rist://GROUP:PORT?iface=ADDR[&ttl=N]         RIST to an IPv4 group (iface required)
         rtp://GROUP:PORT?iface=ADDR[&ttl=N] | rtp://HOST:PORT   RTP (RFC 3550): MPEG-TS as
                                                      payload type 33 (RFC 2250, 90 kHz clock),
                                                      anything else as 96; one channel per output

Options:
  --to URL            an output (repeat for several); every output gets every chunk
                      (none is needed with --http)
  --rate R            320k, 8M (bits/s) or max (unpaced); applies to each channel.
                      Default: measured from the source (WAV header, MP3 frame/Xing header,
                      MPEG-TS PCR) and printed on stderr; otherwise an error asks for --rate
  --burst BYTES       token bucket depth (default: 50 ms of stream, at least two chunks)
  --chunk BYTES       payload bytes per chunk (default 1316); at most 65475 with a udp:// output
  --format F          ipcast (header + checksum, guide, end of stream; default) or
                      raw (bare payload: no header, no guide; over TCP the close is the end)
  --loop              replay a file or folder source forever
  --channel N         channel id of a single source (default 1)
  --name S            channel name of a single source (default: the file name)
  --flow ack          stop-and-wait flow control on unicast udp:// outputs: one chunk in flight,
                      the next only once recv (run with --flow ack) has acknowledged it; lost
                      chunks are sent again. At most one chunk per round trip (docs/repair.md)
  --wait-clients N    hold the stream until N TCP receivers (and HTTP clients) are connected
  --max-clients N     TCP receivers served at once per tcp:// output, and HTTP stream
                      clients of --http; more are refused (HTTP: 503)
  --http [HOST:]PORT  serve players over HTTP (HOST defaults to 127.0.0.1): /channel/N (the
                      bare payload), /playlist.m3u, /guide.json; --wait-clients counts its clients
  --sdp FILE          write the session description of the rtp:// outputs (for ffmpeg -i FILE,
                      VLC, GStreamer), once the first payload has told MPEG-TS from the rest
  --metrics [HOST:]PORT  serve /metrics and the dashboard (HOST defaults to 127.0.0.1)
  -h, --help          this text

A TCP or HTTP receiver that falls 4 MiB behind is dropped; it never slows the others; an SRT caller
whose send buffer is full is dropped too. srt:// and rist:// need libsrt / librist at run time
(docs/repair.md); a chunk must fit one packet (--chunk at most 1424 with ipcast's header).
When every output is IPv4 UDP, a thread of the addon paces and sends (sendmmsg, runs of
equal-size datagrams as one UDP_SEGMENT send); JS only reads the source. In the environment,
IPCAST_PACER=js paces in JS instead; IPCAST_GSO=0 sends datagram by datagram.
SIGINT/SIGTERM: end of stream on every output, sockets closed, exit 0.

Examples:
  ipcast send tone --to 'udp://239.255.0.1:5004?iface=127.0.0.1'
  ipcast send music/ --to tcp://127.0.0.1:5005 --loop
  ipcast send movie.ts --rate 8M --to udp://127.0.0.1:5004 --format raw
  ipcast send movie.ts --to 'rtp://239.255.0.2:5004?iface=127.0.0.1' --sdp movie.sdp --http 8000`,
  options: {
    to: { type: 'string', multiple: true },
    rate: { type: 'string' },
    burst: { type: 'string' },
    chunk: { type: 'string' },
    format: { type: 'string' },
    loop: { type: 'boolean' },
    channel: { type: 'string' },
    name: { type: 'string' },
    'wait-clients': { type: 'string' },
    'max-clients': { type: 'string' },
    metrics: { type: 'string' },
    flow: { type: 'string' },
    http: { type: 'string' },
    sdp: { type: 'string' },
  },
  run: async ({ values, positionals }) => {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0 ? "send: missing SOURCE (see 'ipcast send --help')" : `send: one SOURCE only, got ${positionals.join(' ')}`,
      );
    }
    const tos = list(values.to);
    if (tos.length === 0 && values.http === undefined) throw new UsageError("send: no outputs: give at least one --to URL or --http (see 'ipcast send --help')");
    const metricsAt = str(values.metrics) === undefined ? undefined : parseListenAddress(str(values.metrics)!);
    const outputs = tos.map((t) => parseEndpoint(t, 'send'));
    const http = str(values.http) === undefined ? undefined : parseListenAddress(str(values.http)!, '--http');
    const sdpFile = str(values.sdp);
    const format = str(values.format) ?? 'ipcast';
    if (format !== 'ipcast' && format !== 'raw') throw new UsageError(`--format expects ipcast or raw, got '${format}'`);
    const rateText = str(values.rate);
    const rate = rateText === undefined ? undefined : parseRate(rateText);
    const chunkText = str(values.chunk);
    const chunkBytes = chunkText === undefined ? undefined : parseInteger(chunkText, '--chunk', 1, DEFAULT_MAX_FRAME_BYTES - HEADER_BYTES, true);
    const burstText = str(values.burst);
    const burstBytes = burstText === undefined ? undefined : parseInteger(burstText, '--burst', 1, 1 << 30, true);
    const num = (k: string, min: number, max: number): number | undefined => {
      const t = str(values[k]);
      return t === undefined ? undefined : parseInteger(t, `--${k}`, min, max);
    };
    const channel = num('channel', 1, 65535);
    const waitClients = num('wait-clients', 0, 100_000);
    const maxClients = num('max-clients', 1, 100_000);
    const name = str(values.name);
    const flow = str(values.flow);
    if (flow !== undefined && flow !== 'ack') throw new UsageError(`--flow expects ack, got '${flow}'`);

    const [{ parseSource, resolveSource, startSender, SEND_FLAGS }, { serveMetrics }] = await Promise.all([
      import('../sender/index.js'),
      import('../metrics/serve.js'),
    ]);
    // Option errors of the library named as this command's flags.
    const withFlags = (err: unknown): never => {
      throw err instanceof OptionError ? err.withNames(SEND_FLAGS) : err;
    };
    const spec = parseSource(positionals[0]!);
    const channels = await resolveSource(spec, {
      ...(channel !== undefined ? { channel } : {}),
      ...(name !== undefined ? { name } : {}),
      stdin: process.stdin,
    }).catch(withFlags);
    const sender = await startSender({
      channels,
      outputs,
      format: format as Format,
      loop: values.loop === true,
      ...(flow === 'ack' ? { flow: 'ack' as const } : {}),
      ...(rate !== undefined ? { rate } : {}),
      ...(chunkBytes !== undefined ? { chunkBytes } : {}),
      ...(burstBytes !== undefined ? { burstBytes } : {}),
      ...(waitClients !== undefined ? { waitClients } : {}),
      ...(maxClients !== undefined ? { maxClients } : {}),
      ...(http ? { http } : {}),
      ...(sdpFile !== undefined ? { sdpFile } : {}),
      log: (line) => process.stderr.write(`ipcast send: ${line}\n`),
    }).catch(withFlags);
    const metrics = metricsAt
      ? await serveMetrics(metricsAt, { sender: sender.stats, http: () => sender.httpServer()?.stats }).catch(async (err: unknown) => {
          await sender.stop();
          throw err; // already one line: "--metrics: address already in use: ..."
        })
      : undefined;
    const httpAt = sender.httpServer()?.address();
    if (httpAt) process.stderr.write(`ipcast send: http http://${httpAt.host.includes(':') ? `[${httpAt.host}]` : httpAt.host}:${httpAt.port}/playlist.m3u\n`);
    if (metrics) process.stderr.write(`ipcast send: metrics ${metrics.url.replace(/\/$/, '')}/metrics, dashboard ${metrics.url}\n`);
    const dispose = onStopSignals(() => void sender.stop(), { once: false });
    try {
      await sender.done;
    } finally {
      dispose();
      await metrics?.close();
      // A read still pending on stdin would keep the process alive after the end.
      if (spec.kind === 'stdin') process.stdin.destroy();
    }
    return 0;
  },
};
