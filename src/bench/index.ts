/**
 * ipcast bench: for each transport and chunk size, the Node writer (the addon, through the
 * TypeScript transport API) and the plain-C baseline push the same pseudo-random record
 * stream into ipcast-sink, which verifies every record; once at full speed for a number of
 * seconds, once paced at a fixed bitrate for hand-off latency. memcpy bandwidth is measured
 * once. The result is a table, JSON and an SVG chart.
 */
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

import { RuntimeError } from '../shared/errors.js';
import { loadNative } from '../shared/native.js';
import { measureMemcpy, runBaseline } from './baseline.js';
import { runNode } from './node-run.js';
import { ChunkStream } from './stream.js';
import type { BenchMode, BenchOptions, BenchReport, BenchRow, RunResult } from './types.js';

export { renderChart } from './chart.js';
export type { BenchOptions, BenchReport, BenchRow, RunResult } from './types.js';

export function machineInfo(): BenchReport['machine'] {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    /* keep os.cpus() */
  }
  return { nproc: cpus().length, cpu, kernel: release(), node: process.version };
}

const MODES: BenchMode[] = ['max', 'paced'];

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const progress = o.progress ?? (() => {});
  const repeat = o.repeat ?? 1;
  const total = o.transports.length * o.sizes.length * MODES.length * 2 * repeat;
  let step = 0;
  const check = () => {
    if (o.signal?.aborted) throw new RuntimeError('bench: interrupted', 'ERR_BENCH_INTERRUPTED');
  };
  progress('memcpy ...', false);
  const interrupted = (err: unknown): never => {
    check(); // an abort is reported as such, not as the failure it caused
    throw err;
  };
  const memcpyBytesPerSecond = await measureMemcpy(0.5, o.signal).catch(interrupted);
  check();
  const rows: BenchRow[] = [];
  const failures: string[] = [];
  let msgLimits: BenchReport['msgLimits'];
  for (const transport of o.transports) {
    for (const chunkBytes of o.sizes) {
      const stream = new ChunkStream(chunkBytes);
      for (const mode of MODES) {
        const label = `${transport} ${chunkBytes} B ${mode}`;
        const nodeRuns: RunResult[] = [];
        const baseRuns: RunResult[] = [];
        // Node and C alternate, so load changes on a shared machine hit both alike.
        for (let rep = 0; rep < repeat; rep++) {
          const t = `[${++step}/${total}]`;
          const rlabel = repeat > 1 ? `${label} (${rep + 1}/${repeat})` : label;
          progress(`${t} ${rlabel}: ipcast ...`, false);
          const node = await runNode({
            transport,
            chunkBytes,
            mode,
            seconds: o.seconds,
            rate: o.rate,
            stream,
            ...(o.signal ? { signal: o.signal } : {}),
            onProgress: (bytes, elapsed) =>
              progress(`${t} ${rlabel}: ipcast ${elapsed.toFixed(1)}/${o.seconds} s, ${(bytes / elapsed / 1e6).toFixed(0)} MB/s`, false),
          }).catch(interrupted);
          check();
          progress(`[${++step}/${total}] ${rlabel}: plain C ...`, false);
          const base = await runBaseline({ transport, chunkBytes, mode, seconds: o.seconds, rate: o.rate }, o.signal).catch(interrupted);
          check();
          nodeRuns.push(node);
          baseRuns.push(base);
        }
        const node = median(nodeRuns, mode);
        const base = median(baseRuns, mode);
        if (node.kernel) msgLimits = node.kernel;
        for (const r of nodeRuns) if (!r.verified) failures.push(`${label} (ipcast): ${r.problem}`);
        for (const r of baseRuns) if (!r.verified) failures.push(`${label} (plain C): ${r.problem}`);
        rows.push({ ...row(node, base), verified: [...nodeRuns, ...baseRuns].every((r) => r.verified), ...(repeat > 1 ? { repeat } : {}) });
        progress(
          `${label}: ipcast ${(node.bytesPerSecond / 1e6).toFixed(0)} MB/s, plain C ${(base.bytesPerSecond / 1e6).toFixed(0)} MB/s, p99 ${node.latencyP99Us.toFixed(0)} µs`,
          true,
        );
      }
    }
  }
  const report: BenchReport = {
    memcpyBytesPerSecond,
    results: rows,
    date: new Date().toISOString(),
    machine: machineInfo(),
    options: { transports: o.transports, sizes: o.sizes, seconds: o.seconds, rateBitsPerSecond: o.rate, repeat },
  };
  if (o.transports.includes('msg')) {
    const l = loadNative().ipcMsgLimits();
    report.msgLimits = msgLimits ?? { msgmax: l.msgmax, msgmnb: l.msgmnb, msgQbytes: -1 };
  }
  if (failures.length) report.failures = failures;
  return report;
}

function row(node: RunResult, base: RunResult): BenchRow {
  return {
    transport: node.transport,
    chunkBytes: node.chunkBytes,
    mode: node.mode,
    bytes: node.bytes,
    seconds: round(node.seconds, 6),
    bytesPerSecond: Math.round(node.bytesPerSecond),
    chunksPerSecond: Math.round(node.chunks / node.seconds),
    baselineBytesPerSecond: Math.round(base.bytesPerSecond),
    ratioToBaseline: round(node.bytesPerSecond / base.bytesPerSecond, 3),
    latencyP50Us: round(node.latencyP50Us, 1),
    latencyP99Us: round(node.latencyP99Us, 1),
    baselineLatencyP50Us: round(base.latencyP50Us, 1),
    baselineLatencyP99Us: round(base.latencyP99Us, 1),
    verified: node.verified && base.verified,
    batch: node.batch,
  };
}

/** The median run: by throughput at full speed, by p99 latency when paced. */
function median(runs: RunResult[], mode: BenchMode): RunResult {
  const key = (r: RunResult) => (mode === 'max' ? r.bytesPerSecond : r.latencyP99Us);
  return [...runs].sort((a, b) => key(a) - key(b))[Math.floor((runs.length - 1) / 2)]!;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The comparison table (plain text, aligned). */
export function formatTable(report: BenchReport): string {
  const head = ['transport', 'chunk', 'mode', 'MB/s', 'chunks/s', 'p50 µs', 'p99 µs', 'C MB/s', 'C p99 µs', 'ratio', 'verified'];
  const lines = [head];
  for (const r of report.results) {
    lines.push([
      r.transport,
      String(r.chunkBytes),
      r.mode,
      (r.bytesPerSecond / 1e6).toFixed(1),
      String(r.chunksPerSecond),
      r.latencyP50Us.toFixed(1),
      r.latencyP99Us.toFixed(1),
      (r.baselineBytesPerSecond / 1e6).toFixed(1),
      r.baselineLatencyP99Us.toFixed(1),
      r.ratioToBaseline.toFixed(2),
      r.verified ? 'yes' : 'NO',
    ]);
  }
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const text = lines.map((l) => l.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd());
  const foot = [`memcpy: ${(report.memcpyBytesPerSecond / 1e6).toFixed(0)} MB/s (64 KiB chunks into a 4 MiB ring)`];
  if (report.msgLimits) {
    const m = report.msgLimits;
    foot.push(`msg limits in force: msgmax ${m.msgmax} B, msgmnb ${m.msgmnb} B, the queue's msg_qbytes ${m.msgQbytes} B`);
  }
  foot.push(`${report.machine.nproc} CPUs, ${report.machine.cpu}, Linux ${report.machine.kernel}, Node ${report.machine.node}`);
  return [...text, '', ...foot].join('\n');
}
