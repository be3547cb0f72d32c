import { endpointArgument, notBuilt, type Command } from './command.js';

export const guideCommand: Command = {
  name: 'guide',
  summary: 'print the channel list a sender announces',
  usage: `Usage: ipcast guide URL [--json]

URL      a receiving URL as for ipcast recv (udp://@GROUP:PORT?iface=ADDR, udp://@:PORT, tcp://HOST:PORT)

Options:
  --json           print the guide as JSON
  --timeout S      give up after S seconds without a guide (default 5)
  -h, --help       this text`,
  options: { json: { type: 'boolean' }, timeout: { type: 'string' } },
  run: async (args) => {
    endpointArgument('guide', args.positionals);
    return notBuilt('guide', 'issue #5');
  },
};
