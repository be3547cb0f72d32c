/**
 * ipcast bench: for each transport and chunk size, the Node writer (the addon, through the
 * TypeScript transport API) and the plain-C baseline (the same writer engine driven from C,
 * with the same batch and spin) push the same pseudo-random record stream into ipcast-sink,
 * which verifies every record; once at full speed for a number of seconds, once paced at a
 * fixed bitrate for hand-off latency. Which of the two goes first alternates run by run. Each
 * run's CPU time (writer and sink) is reported beside its throughput. memcpy bandwidth is
 * measured once. The result is a table, JSON and an SVG chart.
 */
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { version } from 'node:process';

import { RuntimeError } from '../shared/errors.js';
import { loadNative } from '../shared/native.js';
import { defaultWriteSpinUs } from '../transport/index.js';
import { measureMemcpy, runBaseline } from './baseline.js';
import { runNode } from './node-run.js';
import { ChunkStream } from './stream.js';
import type { BenchMode, BenchOptions, BenchReport, BenchRow, BenchRunners, RunResult } from './types.js';

export { renderChart } from './chart.js';
export type { BenchOptions, BenchReport, BenchRow, BenchRunners, RunResult } from './types.js';

export function machineInfo(): BenchReport['machine'] {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    /* keep os.cpus() */
  }
  return { nproc: cpus().length, cpu, kernel: release(), node: version };
}

const MODES: BenchMode[] = ['max', 'paced'];

/** Above this Node/C throughput ratio a row is suspect: the same engine driven from Node does
 *  not beat it driven from C unless the two runs differed somewhere. */
export const SUSPECT_RATIO = 1.1;

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const run: BenchRunners = { node: runNode, baseline: runBaseline, memcpy: measureMemcpy, ...o.runners };
  const progress = o.progress ?? (() => {});
  const repeat = o.repeat ?? 1;
  const spinUs = o.spinUs ?? defaultWriteSpinUs();
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
  const memcpyBytesPerSecond = await run.memcpy(0.5, o.signal).catch(interrupted);
  check();
  const rows: BenchRow[] = [];
  const failures: string[] = [];
  let msgLimits: BenchReport['msgLimits'];
  // Which writer goes first alternates run by run over the whole bench (not only within a
  // case), so that load changes and warm caches on a shared machine favour neither.
  let order = 0;
  for (const transport of o.transports) {
    for (const chunkBytes of o.sizes) {
      const stream = new ChunkStream(chunkBytes);
      for (const mode of MODES) {
        const label = `${transport} ${chunkBytes} B ${mode}`;
        const nodeRuns: RunResult[] = [];
        const baseRuns: RunResult[] = [];
        for (let rep = 0; rep < repeat; rep++) {
          const rlabel = repeat > 1 ? `${label} (${rep + 1}/${repeat})` : label;
          const nodeRun = async () => {
            const t = `[${++step}/${total}]`;
            progress(`${t} ${rlabel}: ipcast ...`, false);
            const r = await run.node({
              transport,
              chunkBytes,
              mode,
              seconds: o.seconds,
              rate: o.rate,
              spinUs,
              stream,
              ...(o.signal ? { signal: o.signal } : {}),
              onProgress: (bytes, elapsed) =>
                progress(`${t} ${rlabel}: ipcast ${elapsed.toFixed(1)}/${o.seconds} s, ${(bytes / elapsed / 1e6).toFixed(0)} MB/s`, false),
            }).catch(interrupted);
            check();
            nodeRuns.push(r);
          };
          const baseRun = async () => {
            progress(`[${++step}/${total}] ${rlabel}: plain C ...`, false);
            const r = await run.baseline({ transport, chunkBytes, mode, seconds: o.seconds, rate: o.rate, spinUs }, o.signal).catch(interrupted);
            check();
            baseRuns.push(r);
          };
          if (order++ % 2 === 0) {
            await nodeRun();
            await baseRun();
          } else {
            await baseRun();
            await nodeRun();
          }
        }
        const node = median(nodeRuns, mode);
        const base = median(baseRuns, mode);
        if (node.kernel) msgLimits = node.kernel;
        for (const r of nodeRuns) if (!r.verified) failures.push(`${label} (ipcast): ${r.problem}`);
        for (const r of baseRuns) if (!r.verified) failures.push(`${label} (plain C): ${r.problem}`);
        const spins = new Set([...nodeRuns, ...baseRuns].map((r) => r.spinUs));
        if (spins.size > 1) failures.push(`${label}: the writers ran with different spins (${[...spins].join(', ')} µs), not like with like`);
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
    options: { transports: o.transports, sizes: o.sizes, seconds: o.seconds, rateBitsPerSecond: o.rate, repeat, spinUs },
  };
  if (o.transports.includes('msg')) {
    const l = loadNative().ipcMsgLimits();
    report.msgLimits = msgLimits ?? { msgmax: l.msgmax, msgmnb: l.msgmnb, msgQbytes: -1 };
  }
  if (failures.length) report.failures = failures;
  return report;
}

function row(node: RunResult, base: RunResult): BenchRow {
  const ratio = round(node.bytesPerSecond / base.bytesPerSecond, 3);
  return {
    transport: node.transport,
    chunkBytes: node.chunkBytes,
    mode: node.mode,
    bytes: node.bytes,
    seconds: round(node.seconds, 6),
    bytesPerSecond: Math.round(node.bytesPerSecond),
    chunksPerSecond: Math.round(node.chunks / node.seconds),
    baselineBytesPerSecond: Math.round(base.bytesPerSecond),
    ratioToBaseline: ratio,
    latencyP50Us: round(node.latencyP50Us, 1),
    latencyP99Us: round(node.latencyP99Us, 1),
    baselineLatencyP50Us: round(base.latencyP50Us, 1),
    baselineLatencyP99Us: round(base.latencyP99Us, 1),
    verified: node.verified && base.verified,
    batch: node.batch,
    spinUs: node.spinUs,
    writerCpuSeconds: round(node.writerCpuSeconds, 6),
    readerCpuSeconds: round(node.readerCpuSeconds, 6),
    baselineWriterCpuSeconds: round(base.writerCpuSeconds, 6),
    baselineReaderCpuSeconds: round(base.readerCpuSeconds, 6),
    bytesPerCpuSecond: Math.round(perCpuSecond(node)),
    baselineBytesPerCpuSecond: Math.round(perCpuSecond(base)),
    suspect: ratio > SUSPECT_RATIO,
  };
}

/** Payload bytes per CPU-second of writer and reader together (NaN when either is unknown). */
function perCpuSecond(r: RunResult): number {
  const cpu = r.writerCpuSeconds + r.readerCpuSeconds;
  return cpu > 0 ? r.bytes / cpu : NaN;
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
  const head = ['transport', 'chunk', 'mode', 'MB/s', 'chunks/s', 'p50 µs', 'p99 µs', 'C MB/s', 'C p99 µs', 'ratio', 'MB/CPU-s', 'C MB/CPU-s', 'verified'];
  const lines = [head];
  // JSON turns NaN into null: a report read back from a file may hold either
  const num = (n: number | null | undefined, digits: number) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-');
  for (const r of report.results) {
    lines.push([
      r.transport,
      String(r.chunkBytes),
      r.mode,
      num(r.bytesPerSecond / 1e6, 1),
      String(r.chunksPerSecond),
      num(r.latencyP50Us, 1),
      num(r.latencyP99Us, 1),
      num(r.baselineBytesPerSecond / 1e6, 1),
      num(r.baselineLatencyP99Us, 1),
      `${num(r.ratioToBaseline, 2)}${r.suspect ? '!' : ' '}`,
      num(r.bytesPerCpuSecond / 1e6, 0),
      num(r.baselineBytesPerCpuSecond / 1e6, 0),
      r.verified ? 'yes' : 'NO',
    ]);
  }
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const text = lines.map((l) => l.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd());
  const spin = report.options.spinUs;
  const foot: string[] = [];
  if (report.results.some((r) => r.suspect)) {
    foot.push(
      `! ratio above ${SUSPECT_RATIO.toFixed(2)}: Node beat the same engine driven from C, so the two runs differed somewhere (load on the machine, or the writers); rerun with --repeat 3`,
    );
  }
  foot.push(
    'MB/CPU-s: payload MB per CPU-second (user + system) of writer and sink together',
    ...(spin !== undefined
      ? [
          `wait policy: both writers retry a full transport up to ${spin} µs (--spin-us) before they wait` +
            (report.results.some((r) => r.spinUs !== spin) ? ' (0 where the process may use one CPU only)' : ''),
        ]
      : []),
    `memcpy: ${(report.memcpyBytesPerSecond / 1e6).toFixed(0)} MB/s (64 KiB chunks into a 4 MiB ring)`,
  );
  if (report.msgLimits) {
    const m = report.msgLimits;
    foot.push(`msg limits in force: msgmax ${m.msgmax} B, msgmnb ${m.msgmnb} B, the queue's msg_qbytes ${m.msgQbytes} B`);
  }
  foot.push(`${report.machine.nproc} CPUs, ${report.machine.cpu}, Linux ${report.machine.kernel}, Node ${report.machine.node}`);
  return [...text, '', ...foot].join('\n');
}

/** A report with a failed verification (a run that lost or changed data) is a failed bench. */
export function assertVerified(report: BenchReport): void {
  if (report.failures?.length) {
    throw new RuntimeError(`bench: verification failed: ${report.failures.join(' | ')}`, 'ERR_BENCH_VERIFY');
  }
}
