import { notBuilt, type Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'test tone -> loopback multicast -> pipe, shm and msg side by side (npm start)',
  usage: `Usage: ipcast demo [--seconds N] [--metrics [HOST:]PORT]

Starts a sender with the built-in test tone on loopback multicast (interface 127.0.0.1),
a receiver fanning out to pipe, shm and msg, /metrics and the dashboard, and prints a
live comparison until Ctrl-C or --seconds.

Options:
  --seconds N            stop after N seconds
  --metrics [HOST:]PORT  where to serve /metrics and the dashboard (default 127.0.0.1:9464)
  -h, --help             this text`,
  options: { seconds: { type: 'string' }, metrics: { type: 'string' } },
  run: async () => notBuilt('demo', 'issue #6'),
};
