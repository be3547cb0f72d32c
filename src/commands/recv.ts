import { endpointArgument, notBuilt, type Command } from './command.js';

export const recvCommand: Command = {
  name: 'recv',
  summary: 'join or connect, validate, and feed a decoder child over pipe, shm or msg',
  usage: `Usage: ipcast recv URL [options]

URL      udp://@GROUP:PORT?iface=ADDR[&source=ADDR][&rcvbuf=BYTES]   join a multicast group
         udp://@:PORT[?rcvbuf=BYTES]                                 bind unicast
         tcp://HOST:PORT                                             connect (reconnects)

Options:
  --channel N          channel to play (default: the first in the guide)
  --transport T        pipe, shm, msg, or a list such as pipe,shm,msg (default pipe)
  --exec "CMD ARGS"    the decoder (run without a shell); default: ipcast's sink verifies and discards
  --format F           ipcast (default) or raw (bare payload datagrams, e.g. MPEG-TS from ffmpeg)
  --exit-on-eos        exit once the stream has ended and every child has exited
  --idle-timeout S     end the stream after S seconds without data
  --metrics [HOST:]PORT  serve /metrics and the dashboard (HOST defaults to 127.0.0.1)
  -h, --help           this text`,
  options: {
    channel: { type: 'string' },
    transport: { type: 'string' },
    exec: { type: 'string' },
    format: { type: 'string' },
    'exit-on-eos': { type: 'boolean' },
    'idle-timeout': { type: 'string' },
    metrics: { type: 'string' },
  },
  run: async (args) => {
    endpointArgument('recv', args.positionals);
    return notBuilt('recv', 'issue #5');
  },
};
