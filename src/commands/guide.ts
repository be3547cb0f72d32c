import { parseSeconds, str } from '../shared/args.js';
import { endpointArgument, type Command } from './command.js';

export const guideCommand: Command = {
  name: 'guide',
  summary: 'print the channel list a sender announces',
  usage: `Usage: ipcast guide URL [--json] [--timeout S]

Waits for the sender's channel guide (channel 0, sent every second) and prints it.
Channel names and descriptions come from the network: they are printed, never run.

URL      a receiving URL as for ipcast recv (udp://@GROUP:PORT?iface=ADDR, udp://@:PORT, tcp://HOST:PORT)

Options:
  --json           print the guide as JSON
  --timeout S      give up after S seconds without a guide (default 5; exit 1)
  -h, --help       this text`,
  options: { json: { type: 'boolean' }, timeout: { type: 'string' } },
  run: async (args) => {
    const ep = endpointArgument('guide', args.positionals);
    const timeoutS = args.values.timeout !== undefined ? parseSeconds(str(args.values.timeout)!, '--timeout') : 5;
    const { formatGuide, readGuide } = await import('../receiver/guide-reader.js');
    const channels = await readGuide(ep, timeoutS * 1000, (m) => process.stderr.write(`ipcast: ${m}\n`));
    process.stdout.write(args.values.json ? JSON.stringify(channels, null, 2) + '\n' : formatGuide(channels) + '\n');
    return 0;
  },
};
