/**
 * The Node side of a bench run: the real TypeScript transport API (startTransportChild, the
 * addon's IpcWriter) pushes the stream into ipcast-sink, which verifies every record.
 */
import { performance } from 'node:perf_hooks';
import { cpuUsage } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

import { settings } from '../shared/settings.js';
import { startTransportChild, type TransportChild } from '../transport/index.js';
import { ChunkStream } from './stream.js';
import type { RunCase, RunResult } from './types.js';


/** Chunks per engine write call at full speed, for both writers (src/bench/baseline.ts passes
 *  it to ipcast-baseline as --batch): about settings().benchBatchBytes (IPCAST_BENCH_BATCH_BYTES,
 *  default 256 KiB) of payload per native call at full speed, at most 256 chunks. */
export function batchFor(chunkBytes: number): number {
  return Math.max(1, Math.min(256, Math.floor(settings().benchBatchBytes / chunkBytes)));
}

export interface NodeRunOptions extends RunCase {
  stream?: ChunkStream;
  signal?: AbortSignal;
  /** Called about every 200 ms with the payload bytes written so far. */
  onProgress?: (bytes: number, elapsed: number) => void;
}

export async function runNode(o: NodeRunOptions): Promise<RunResult> {
  const stream = o.stream ?? new ChunkStream(o.chunkBytes);
  // The writer's CPU time spans what ipcast-baseline's getrusage(RUSAGE_SELF) spans: from before
  // the transport is opened (and the sink started, and its ready line awaited) until the sink has
  // exited after the end of stream; the stream's pool is made before, on both sides. It is the
  // whole process (all threads: the writer's wait thread, the event loop, GC), as in C.
  const cpu0 = cpuUsage();
  const child = await startTransportChild(o.transport, {
    stdout: 'ignore',
    reportMs: 1000,
    ...(o.spinUs !== undefined ? { writeSpinUs: o.spinUs } : {}),
  });
  const abort = () => void child.close();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const batch = o.mode === 'max' ? batchFor(o.chunkBytes) : 1;
    const t0 = performance.now();
    let chunks = 0;
    let nextTick = t0 + 200;
    if (o.mode === 'max') {
      const end = t0 + o.seconds * 1000;
      for (let now = t0; now < end; now = performance.now()) {
        await child.writeBatch(stream.batch(chunks, batch));
        chunks += batch;
        if (now >= nextTick) {
          nextTick = now + 200;
          o.onProgress?.(chunks * o.chunkBytes, (now - t0) / 1000);
        }
      }
    } else {
      const intervalMs = (o.chunkBytes * 8 * 1000) / o.rate;
      const total = Math.ceil((o.seconds * 1000) / intervalMs); // chunks whose due time is before the end
      while (chunks < total) {
        const now = performance.now();
        const due = t0 + chunks * intervalMs;
        if (due > now) {
          await sleep(due - now);
          continue;
        }
        // everything due by now in one call (usually one chunk; more after a late timer)
        const n = Math.min(total, Math.floor((now - t0) / intervalMs) + 1) - chunks;
        await child.writeBatch(stream.batch(chunks, n));
        chunks += n;
        if (now >= nextTick) {
          nextTick = now + 200;
          o.onProgress?.(chunks * o.chunkBytes, (now - t0) / 1000);
        }
      }
    }
    await child.end();
    const seconds = (performance.now() - t0) / 1000;
    const exit = await child.exited;
    const cpu = cpuUsage(cpu0);
    return summarize(o, child, chunks, batch, seconds, (cpu.user + cpu.system) / 1e6, exit.code, exit.report);
  } finally {
    o.signal?.removeEventListener('abort', abort);
    await child.close();
  }
}

function summarize(
  o: NodeRunOptions,
  child: TransportChild,
  chunks: number,
  batch: number,
  seconds: number,
  writerCpuSeconds: number,
  code: number | null,
  report: Awaited<TransportChild['exited']>['report'],
): RunResult {
  const bytes = chunks * o.chunkBytes;
  const problems: string[] = [];
  if (code !== 0) problems.push(`the sink exited with ${code}${report?.error ? `: ${report.error}` : ''}`);
  if (!report) problems.push('no final report from the sink');
  else {
    if (report.bytes !== bytes) problems.push(`the sink verified ${report.bytes} bytes, ${bytes} written`);
    if (report.chunks !== chunks) problems.push(`the sink verified ${report.chunks} chunks, ${chunks} written`);
    if (report.gaps || report.reorders || report.checksumErrors || report.corrupt) {
      problems.push(`gaps ${report.gaps}, reorders ${report.reorders}, checksum errors ${report.checksumErrors}, corrupt ${report.corrupt}`);
    }
  }
  const info = child.info;
  return {
    transport: o.transport,
    chunkBytes: o.chunkBytes,
    mode: o.mode,
    bytes,
    chunks,
    seconds,
    bytesPerSecond: bytes / seconds,
    latencyP50Us: report?.handoff?.p50Us ?? NaN,
    latencyP99Us: report?.handoff?.p99Us ?? NaN,
    verified: problems.length === 0,
    ...(problems.length ? { problem: problems.join('; ') } : {}),
    batch,
    spinUs: info.spinUs ?? NaN,
    writerCpuSeconds,
    readerCpuSeconds: report?.cpuSeconds ?? NaN,
    ...(o.transport === 'msg' ? { kernel: { msgmax: info.msgmax ?? -1, msgmnb: info.msgmnb ?? -1, msgQbytes: info.qbytes ?? -1 } } : {}),
  };
}
