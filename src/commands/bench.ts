import { notBuilt, type Command } from './command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'compare pipe, shm and msg against plain-C baselines',
  usage: `Usage: ipcast bench [options]

Options:
  --transports LIST   pipe,shm,msg (default all three)
  --sizes LIST        chunk sizes in bytes (default 1316,8192,65536)
  --seconds N         seconds per full-speed run (default 3)
  --rate R            paced rate for the latency runs (default 8M)
  --json FILE         write the results as JSON
  --chart FILE.svg    draw the comparison
  -h, --help          this text`,
  options: {
    transports: { type: 'string' },
    sizes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    json: { type: 'string' },
    chart: { type: 'string' },
  },
  run: async () => notBuilt('bench', 'issue #6'),
};
