import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { parseInteger, parseRate, parseSeconds, str } from '../shared/args.js';
import { RuntimeError, UsageError, describeSystemError } from '../shared/errors.js';
import { defaultWriteSpinUs, MAX_SPIN_US, TRANSPORT_KINDS, type TransportKind } from '../transport/index.js';
import type { Command } from './command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'compare pipe, shm and msg against plain-C baselines',
  usage: `Usage: ipcast bench [options]

For each transport and chunk size, Node (the addon, batching chunks per call) pushes a
pseudo-random record stream into ipcast-sink, which verifies every record (sequence and
CRC-32C, counts): at full speed for --seconds, then paced at --rate for hand-off latency.
The plain-C baseline (ipcast-baseline) drives the same writer engine with the same records,
batch and spin into the same sink in the same run, so the ratio is what Node and N-API cost;
which of the two goes first alternates run by run. Each run's CPU time (writer and sink) is
measured; a ratio above 1.10 is marked suspect. memcpy bandwidth is measured once. Prints a
table on stdout and progress on stderr; nothing is left in ipcs, also after Ctrl-C.

Options:
  --transports LIST   pipe,shm,msg (default all three)
  --sizes LIST        chunk sizes in bytes, k/M allowed (default 1316,8192,65536)
  --seconds N         seconds per run (default 3); each size runs 4 times per transport
  --rate R            paced rate for the latency runs (default 8M)
  --repeat N          runs per case, Node and C alternating; the median is shown (default 1)
  --spin-us N         wait policy of both writers, 0..10000: a write finding the transport
                      full retries it until the reader has made no room for N µs, then
                      sleeps until there is room; 0 sleeps at once (default 30, or
                      IPCAST_WRITE_SPIN_US when set; no spin on a process with one CPU)
  --json FILE         write the results as JSON
  --chart FILE.svg    draw the comparison (SVG)
  -h, --help          this text

Example:
  ipcast bench --sizes 1316,65536 --seconds 2 --json bench.json --chart bench.svg`,
  options: {
    transports: { type: 'string' },
    sizes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    repeat: { type: 'string' },
    'spin-us': { type: 'string' },
    json: { type: 'string' },
    chart: { type: 'string' },
  },
  run: async ({ values, positionals }) => {
    if (positionals.length > 0) throw new UsageError(`bench: unexpected argument '${positionals[0]}' (see 'ipcast bench --help')`);
    const transports = parseTransports(str(values.transports) ?? 'pipe,shm,msg');
    const sizes = (str(values.sizes) ?? '1316,8192,65536').split(',').map((s) => parseInteger(s.trim(), '--sizes', 1, 16 * 1024 * 1024, true));
    const seconds = values.seconds === undefined ? 3 : parseSeconds(str(values.seconds) ?? '', '--seconds');
    if (seconds > 3600) throw new UsageError(`--seconds must be at most 3600, got ${seconds}`, 'ERR_BAD_NUMBER');
    const rate = parseRate(str(values.rate) ?? '8M');
    if (!Number.isFinite(rate)) throw new UsageError("--rate needs a bitrate for the paced runs, not 'max'", 'ERR_BAD_RATE');
    const repeat = values.repeat === undefined ? 1 : parseInteger(str(values.repeat) ?? '', '--repeat', 1, 100);
    const spinUs = values['spin-us'] === undefined ? defaultWriteSpinUs() : parseInteger(str(values['spin-us']) ?? '', '--spin-us', 0, MAX_SPIN_US);
    const json = str(values.json);
    const chart = str(values.chart);
    // Find out now, not after minutes of benchmarking, that a result file cannot be written.
    for (const [flag, path] of [['--json', json], ['--chart', chart]] as const) {
      if (path === undefined) continue;
      try {
        accessSync(dirname(resolve(path)), constants.W_OK);
      } catch (err) {
        throw new RuntimeError(`bench: ${flag}: cannot write ${path}: ${describeSystemError(err)}`, 'ERR_WRITE', { cause: err });
      }
    }
    if (values.json !== undefined && !json) throw new UsageError('--json expects a file name', 'ERR_BAD_ARGUMENT');
    if (values.chart !== undefined && !chart) throw new UsageError('--chart expects a file name', 'ERR_BAD_ARGUMENT');

    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const tty = process.stderr.isTTY === true;
    let shown = false;
    const progress = (text: string, final: boolean) => {
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
        shown = true;
        if (final) {
          process.stderr.write('\n');
          shown = false;
        }
      } else if (final) {
        process.stderr.write(`${text}\n`);
      }
    };
    const { assertVerified, formatTable, renderChart, runBench } = await import('../bench/index.js');
    try {
      const report = await runBench({ transports, sizes, seconds, rate, repeat, spinUs, progress, signal: controller.signal });
      if (shown) process.stderr.write('\r\x1b[K');
      process.stdout.write(formatTable(report) + '\n');
      if (json) writeOutput(json, JSON.stringify(report, null, 2) + '\n', '--json');
      if (chart) writeOutput(chart, renderChart(report), '--chart');
      assertVerified(report);
      return 0;
    } finally {
      if (shown) process.stderr.write('\n');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

function parseTransports(text: string): TransportKind[] {
  const out: TransportKind[] = [];
  for (const t of text.split(',').map((s) => s.trim())) {
    if (!(TRANSPORT_KINDS as readonly string[]).includes(t)) {
      throw new UsageError(`--transports expects a list of pipe, shm, msg, got '${t}'`, 'ERR_BAD_ARGUMENT');
    }
    if (!out.includes(t as TransportKind)) out.push(t as TransportKind);
  }
  return out;
}

/** Writes a result file; a bad path is one line and exit 1, not a stack trace. */
function writeOutput(path: string, text: string, flag: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new RuntimeError(`bench: ${flag}: cannot write: ${describeSystemError(err)}`, 'ERR_WRITE', { cause: err });
  }
}
