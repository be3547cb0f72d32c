/**
 * The plain-C side: native/baseline.c (ipcast-baseline) drives the same writer engine
 * (native/engine/writer.c) with the same records, batch and spin into the same ipcast-sink,
 * and measures memcpy bandwidth.
 */
import { spawn } from 'node:child_process';

import { RuntimeError } from '../shared/errors.js';
import { nativeExecutable } from '../shared/native.js';
import { defaultWriteSpinUs, type TransportKind } from '../transport/index.js';
import { batchFor } from './node-run.js';
import type { BenchMode, RunCase, RunResult } from './types.js';

interface BaselineLine {
  transport: TransportKind;
  chunkBytes: number;
  mode: BenchMode;
  batch: number;
  spinUs: number;
  bytes: number;
  chunks: number;
  seconds: number;
  bytesPerSecond: number;
  /** getrusage(RUSAGE_SELF) from before the transport is opened until the sink has exited. */
  writerCpuSeconds: number;
  /** The sink's final report's cpuSeconds; -1 without one. */
  readerCpuSeconds: number;
  verified: boolean;
  sinkExit: number;
  info: { msgmax?: number; msgmnb?: number; qbytes?: number };
  sink: { handoff?: { p50Us: number; p99Us: number }; error?: string } | null;
}

/** Runs ipcast-baseline and returns its one JSON line (stdout); stderr is passed through on failure. */
function runBaselineProgram<T>(args: string[], signal?: AbortSignal): Promise<{ line: T | undefined; code: number | null; stderr: string }> {
  const file = nativeExecutable('ipcast-baseline');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const abort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (e) => reject(new RuntimeError(`cannot run ${file}: ${e.message}`, 'ERR_BENCH_BASELINE', { cause: e })));
    child.once('close', (code) => {
      signal?.removeEventListener('abort', abort);
      let line: T | undefined;
      try {
        line = JSON.parse(out.trim().split('\n').pop() ?? '') as T;
      } catch {
        line = undefined;
      }
      resolve({ line, code, stderr: err.trim() });
    });
  });
}

export type BaselineRunOptions = RunCase;

export async function runBaseline(o: BaselineRunOptions, signal?: AbortSignal): Promise<RunResult> {
  const args = ['--transport', o.transport, '--chunk', String(o.chunkBytes), '--seconds', String(o.seconds)];
  args.push('--sink', nativeExecutable('ipcast-sink'));
  // the Node run's batch at full speed; paced, both write every chunk due by now in one call
  if (o.mode === 'paced') args.push('--rate', String(o.rate));
  else args.push('--batch', String(batchFor(o.chunkBytes)));
  // the Node writer's default when not given (IPCAST_WRITE_SPIN_US may change it), not the engine's
  args.push('--spin-us', String(o.spinUs ?? defaultWriteSpinUs()));
  const { line, code, stderr } = await runBaselineProgram<BaselineLine>(args, signal);
  if (!line) {
    throw new RuntimeError(`ipcast-baseline ${args.join(' ')} failed (exit ${code})${stderr ? `: ${stderr}` : ''}`, 'ERR_BENCH_BASELINE');
  }
  const problem = line.verified ? undefined : `baseline: sink exit ${line.sinkExit}${line.sink?.error ? `: ${line.sink.error}` : ''}${stderr ? `; ${stderr}` : ''}`;
  return {
    transport: o.transport,
    chunkBytes: o.chunkBytes,
    mode: o.mode,
    bytes: line.bytes,
    chunks: line.chunks,
    seconds: line.seconds,
    bytesPerSecond: line.bytesPerSecond,
    latencyP50Us: line.sink?.handoff?.p50Us ?? NaN,
    latencyP99Us: line.sink?.handoff?.p99Us ?? NaN,
    verified: line.verified,
    ...(problem ? { problem } : {}),
    batch: line.batch,
    spinUs: line.spinUs,
    writerCpuSeconds: line.writerCpuSeconds >= 0 ? line.writerCpuSeconds : NaN,
    readerCpuSeconds: line.readerCpuSeconds >= 0 ? line.readerCpuSeconds : NaN,
    ...(o.transport === 'msg'
      ? { kernel: { msgmax: line.info.msgmax ?? -1, msgmnb: line.info.msgmnb ?? -1, msgQbytes: line.info.qbytes ?? -1 } }
      : {}),
  };
}

/** memcpy bandwidth, 64 KiB chunks into a 4 MiB ring (the default shm ring's size). */
export async function measureMemcpy(seconds = 0.5, signal?: AbortSignal): Promise<number> {
  const { line, code, stderr } = await runBaselineProgram<{ memcpyBytesPerSecond: number }>(['memcpy', '--seconds', String(seconds)], signal);
  if (!line || !(line.memcpyBytesPerSecond > 0)) {
    throw new RuntimeError(`ipcast-baseline memcpy failed (exit ${code})${stderr ? `: ${stderr}` : ''}`, 'ERR_BENCH_BASELINE');
  }
  return line.memcpyBytesPerSecond;
}
