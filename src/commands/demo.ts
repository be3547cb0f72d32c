import { parseListenAddress, parseRate, parseSeconds, str } from '../shared/args.js';
import type { Command } from './command.js';
import { onStopSignals } from './signals.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'test tone -> loopback multicast -> pipe, shm and msg side by side (npm start)',
  usage: `Usage: ipcast demo [--seconds N] [--metrics [HOST:]PORT] [--rate R]

Starts a sender with the built-in test tone on loopback multicast (interface 127.0.0.1,
TTL 1), a receiver fanning out to pipe, shm and msg, /metrics and the dashboard, and
redraws a comparison table every second until Ctrl-C or --seconds; then a summary.

Options:
  --seconds N            stop after N seconds
  --metrics [HOST:]PORT  where to serve /metrics and the dashboard (default 127.0.0.1:9464)
  --rate R               tone bitrate such as 8M (default: its natural 705.6k)
  -h, --help             this text`,
  options: { seconds: { type: 'string' }, metrics: { type: 'string' }, rate: { type: 'string' } },
  run: async (args) => {
    const v = args.values;
    const { runDemo } = await import('../demo/demo.js');
    const stop = new AbortController();
    const dispose = onStopSignals(() => stop.abort(), { once: true });
    try {
      return await runDemo({
        metrics: parseListenAddress(str(v.metrics) ?? '9464'),
        ...(v.seconds !== undefined ? { seconds: parseSeconds(str(v.seconds)!, '--seconds') } : {}),
        ...(v.rate !== undefined ? { rate: parseRate(str(v.rate)!) } : {}),
        out: process.stdout,
        log: (m) => void process.stderr.write(`ipcast demo: ${m}\n`),
        signal: stop.signal,
      });
    } finally {
      dispose();
    }
  },
};
