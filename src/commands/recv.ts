import { parseInteger, parseListenAddress, parseSeconds, str } from '../shared/args.js';
import { UsageError } from '../shared/errors.js';
import { splitShellWords } from '../shared/shell-words.js';
import { TRANSPORT_KINDS, type TransportKind } from '../transport/stats.js';
import { MAX_SPIN_US } from '../transport/index.js';
import { endpointArgument, type Command } from './command.js';
import { abortOnStopSignals } from './signals.js';

export const recvCommand: Command = {
  name: 'recv',
  summary: 'join or connect, validate, and feed a decoder child over pipe, shm or msg',
  usage: `Usage: ipcast recv URL [options]

URL      udp://@GROUP:PORT?iface=ADDR[&source=ADDR][&rcvbuf=BYTES]   join a multicast group
         udp://@[ff3e::1]:PORT?iface=NAME|ADDR6[&source=ADDR6]       join an IPv6 group
         udp://@:PORT[?rcvbuf=BYTES], udp://@[::]:PORT               bind unicast
         tcp://HOST:PORT                                             connect (reconnects)
         srt://@:PORT[?latency=MS&passphrase=…&packetfilter=…]       SRT listener (libsrt)
         srt://HOST:PORT[?…], srt://HOST:PORT?mode=rendezvous        SRT caller (reconnects)
         rist://@:PORT[?buffer=MS]                                   RIST simple profile (librist)
         rist://@GROUP:PORT?iface=ADDR[&buffer=MS]                   RIST from an IPv4 group
         rtp://@GROUP:PORT?iface=ADDR, rtp://@:PORT                  RTP in (RFC 3550): the header
                                                      is checked and stripped, its sequence numbers
                                                      count loss/reorder/duplicates; the payload goes
                                                      to the decoder as --format raw hands it

Options:
  --channel N          channel to play (default: the first in the guide)
  --transport T        pipe, shm, msg, or a list such as pipe,shm,msg (default pipe):
                       one decoder child per transport, fed the same stream
  --exec "CMD ARGS"    the decoder, split like a shell but run without one. With pipe it reads
                       the payload on stdin; with shm/msg ipcast's sink reads the transport and
                       feeds it. Default: the sink verifies every chunk and discards the data.
  --format F           ipcast (default) or raw (bare payload datagrams, e.g. MPEG-TS from ffmpeg)
  --exit-on-eos        exit once the stream has ended and every child has exited
                       (0 if they all exited 0)
  --idle-timeout S     end the stream after S seconds without data
  --buffer BYTES       per-child buffer in front of a slow decoder (default 8M)
  --policy P           when that buffer is full: drop-oldest (default) or block (TCP only:
                       stop reading the connection until the decoder catches up)
  --max-restarts N     restarts in a row of a decoder that exits mid-stream (default 5; one
                       that ran 30 s before it exited starts the count over)
  --spin-us N          wait policy of the writers, 0..10000: a write finding the transport
                       full retries it until the decoder side has made no room for N µs, then
                       sleeps until there is room; 0 sleeps at once (default 30, or
                       IPCAST_WRITE_SPIN_US when set; no spin on a process with one CPU)
  --flow ack           acknowledge each chunk of a sender run with --flow ack (unicast udp://),
                       holding the answer while a decoder's buffer is full: the sender never
                       outruns this receiver (chunks go through node:dgram and JavaScript)
  --metrics [HOST:]PORT  serve /metrics and the dashboard (HOST defaults to 127.0.0.1)
  --http [HOST:]PORT   serve players over HTTP (HOST defaults to 127.0.0.1): /channel/N (the
                       channel played, in order; others as they arrive), /udp/GROUP:PORT[?iface=
                       ADDR] (udpxy's way; iface defaults to URL's, else 127.0.0.1),
                       /playlist.m3u, /guide.json. Chunks then take the JavaScript path
  --max-clients N      HTTP stream clients of --http served at once; more get 503
  -h, --help           this text

IPv4 UDP in ipcast format runs no JavaScript per chunk: a thread of recv's own reads, checks,
orders and hands off every chunk (IPCAST_RELAY=js in the environment: the JavaScript path).
The first line says which path the chunks take; the summary ends with recv's own CPU time.
On a terminal (stderr a TTY) a table per transport is redrawn in place every second, and
what the decoders write to stderr is printed above it, line by line; to a file or a pipe recv
writes its log lines only, and the decoders write to recv's stderr themselves.

srt:// and rist:// need libsrt / librist at run time (docs/repair.md); the summary adds the
library's own counts (lost, retransmitted, recovered, dropped too late, RTT).

Exit codes: 0 success, 1 runtime failure (a decoder failed, a port in use), 2 usage error.`,
  options: {
    channel: { type: 'string' },
    transport: { type: 'string' },
    exec: { type: 'string' },
    format: { type: 'string' },
    'exit-on-eos': { type: 'boolean' },
    'idle-timeout': { type: 'string' },
    buffer: { type: 'string' },
    policy: { type: 'string' },
    'max-restarts': { type: 'string' },
    'spin-us': { type: 'string' },
    metrics: { type: 'string' },
    flow: { type: 'string' },
    http: { type: 'string' },
    'max-clients': { type: 'string' },
  },
  run: async (args) => {
    const v = args.values;
    const endpoint = endpointArgument('recv', args.positionals);
    const format = str(v.format) ?? 'ipcast';
    if (format !== 'ipcast' && format !== 'raw') throw new UsageError(`--format must be ipcast or raw, got '${format}'`);
    const transports = parseTransports(str(v.transport) ?? 'pipe');
    const policy = str(v.policy) ?? 'drop-oldest';
    if (policy !== 'drop-oldest' && policy !== 'block') throw new UsageError(`--policy must be drop-oldest or block, got '${policy}'`);
    const maxText = str(v['max-clients']);
    if (maxText !== undefined && v.http === undefined) throw new UsageError('--max-clients bounds the clients of --http: give --http too');
    const maxClients = maxText !== undefined ? { maxClients: parseInteger(maxText, '--max-clients', 1, 100_000) } : {};
    const flow = str(v.flow);
    if (flow !== undefined && flow !== 'ack') throw new UsageError(`--flow expects ack, got '${flow}'`);
    if (flow === 'ack' && (endpoint.proto !== 'udp' || endpoint.mode !== 'unicast' || format !== 'ipcast')) {
      throw new UsageError('--flow ack is for a unicast udp:// URL in ipcast format');
    }
    const [{ runReceiver }, { emptyReceiverStats }, { ComparisonTable }, { LiveView }] = await Promise.all([
      import('../receiver/run.js'),
      import('../receiver/stats.js'),
      import('../demo/comparison-table.js'),
      import('../shared/live-view.js'),
    ]);
    // On a terminal: one live table, redrawn in place every second, log lines above it.
    const stats = emptyReceiverStats();
    const view = process.stderr.isTTY ? new LiveView(process.stderr) : undefined;
    const log = (m: string): void => (view ? view.log(`ipcast recv: ${m}`) : void process.stderr.write(`ipcast recv: ${m}\n`));
    const table = new ComparisonTable();
    const ticker = view ? setInterval(() => view.draw(table.render(stats)), 1000) : undefined;
    const stop = abortOnStopSignals(log);
    try {
      return await runReceiver({
        endpoint,
        format,
        transports,
        ...(v.channel !== undefined ? { channel: parseInteger(str(v.channel)!, '--channel', 1, 65535) } : {}),
        ...(v.exec !== undefined ? { decoder: splitShellWords(str(v.exec)!) } : {}),
        exitOnEos: v['exit-on-eos'] === true,
        ...(v['idle-timeout'] !== undefined ? { idleTimeoutMs: parseSeconds(str(v['idle-timeout'])!, '--idle-timeout') * 1000 } : {}),
        maxBufferBytes: v.buffer !== undefined ? parseInteger(str(v.buffer)!, '--buffer', 65536, 1 << 30, true) : 8 << 20,
        policy,
        maxRestarts: v['max-restarts'] !== undefined ? parseInteger(str(v['max-restarts'])!, '--max-restarts', 0, 1000) : 5,
        ...(v['spin-us'] !== undefined ? { spinUs: parseInteger(str(v['spin-us']) ?? '', '--spin-us', 0, MAX_SPIN_US) } : {}),
        ...(v.metrics !== undefined ? { metrics: parseListenAddress(str(v.metrics)!) } : {}),
        ...(flow === 'ack' ? { flowAck: true } : {}),
        ...(v.http !== undefined ? { http: { ...parseListenAddress(str(v.http)!, '--http'), ...maxClients } } : {}),
        stats,
        log,
        // On the live view, what the decoders print goes above the table instead of through it.
        ...(view ? { childStderr: (line: string) => view.log(`  ${line}`) } : {}),
        signal: stop.signal,
      });
    } finally {
      clearInterval(ticker);
      view?.draw(table.render(stats)); // the final counts, under the summary
      view?.done();
      stop.dispose();
    }
  },
};

function parseTransports(text: string): TransportKind[] {
  const list = text.split(',').map((t) => t.trim());
  for (const t of list) {
    if (!TRANSPORT_KINDS.includes(t as TransportKind)) {
      throw new UsageError(`--transport expects pipe, shm, msg or a comma-separated list, got '${t}'`, 'ERR_BAD_ARGUMENT');
    }
  }
  if (new Set(list).size !== list.length) throw new UsageError(`--transport lists a transport twice: '${text}'`, 'ERR_BAD_ARGUMENT');
  return list as TransportKind[];
}
