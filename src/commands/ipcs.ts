import { notBuilt, type Command } from './command.js';

export const ipcsCommand: Command = {
  name: 'ipcs',
  summary: 'list (or --clean) System V objects left by ipcast runs',
  usage: `Usage: ipcast ipcs [--clean]

Lists the shared-memory segments, semaphore arrays and message queues that ipcast
created and whose owner processes are gone; --clean removes them.

Options:
  --clean      remove leftover objects
  -h, --help   this text`,
  options: { clean: { type: 'boolean' } },
  run: async () => notBuilt('ipcs', 'issue #3'),
};
