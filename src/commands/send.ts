import { notBuilt, type Command } from './command.js';

export const sendCommand: Command = {
  name: 'send',
  summary: 'stream a file, a folder of channels, stdin or a test tone to UDP/TCP outputs',
  usage: `Usage: ipcast send SOURCE --to URL [--to URL ...] [options]

SOURCE   FILE | FOLDER (one channel per entry) | - (stdin) | tone[:HZ] (built-in test signal)
URL      udp://GROUP:PORT?ttl=N&iface=ADDR&loop=0|1   multicast (iface required, ttl defaults to 1)
         udp://HOST:PORT                              unicast
         tcp://ADDR:PORT                              listen; serves many receivers

Options:
  --to URL            an output (repeat for several)
  --rate R            320k, 8M (bits/s) or max; default: measured from the source
  --chunk BYTES       payload bytes per chunk (default 1316)
  --format F          ipcast (header + checksum, default) or raw (bare payload)
  --loop              replay a file source forever
  --channel N         channel id of a single source (default 1)
  --name S            channel name of a single source
  --wait-clients N    hold the stream until N TCP receivers are connected
  --max-clients N     TCP receivers served at once
  --metrics [HOST:]PORT  serve /metrics and the dashboard (HOST defaults to 127.0.0.1)
  -h, --help          this text`,
  options: {
    to: { type: 'string', multiple: true },
    rate: { type: 'string' },
    chunk: { type: 'string' },
    format: { type: 'string' },
    loop: { type: 'boolean' },
    channel: { type: 'string' },
    name: { type: 'string' },
    'wait-clients': { type: 'string' },
    'max-clients': { type: 'string' },
    metrics: { type: 'string' },
  },
  run: async () => notBuilt('send', 'issue #4'),
};
