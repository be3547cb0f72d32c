/**
 * startTransportChild: creates one IPC transport (pipe, shm ring, message queue), execs the
 * child on the other side, and gives back a writer with backpressure.
 *
 *  - pipe + decoder: the decoder is the child; its fd 0 is the read end of a real pipe
 *    (raw payload bytes, no records). It is started through `ipcast-sink --wrap`, which sets
 *    PR_SET_PDEATHSIG and execs it in place (same pid), so it dies with a SIGKILLed writer.
 *  - pipe, no decoder: ipcast-sink --pipe is the child (framed records, verified).
 *  - shm / msg: ipcast-sink is the child; it runs the decoder itself when one is given.
 *
 * Nothing here blocks the event loop: the addon writes without waiting while there is
 * room and waits off the main thread when the transport is full (native/transport_binding.cc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { pid } from 'node:process';
import type { Readable } from 'node:stream';

import { RuntimeError, UsageError } from '../shared/errors.js';
import { loadNative, nativeExecutable, type NativeIpcInfo, type NativeIpcWriter } from '../shared/native.js';
import { findExecutable } from '../shared/executable.js';
import { settings } from '../shared/settings.js';
import { explainLimit } from './limits.js';
import { LineSplitter } from './line-splitter.js';
import { removeRegistry, writeRegistry } from './registry.js';
import type { HandOffMeta, TransportChild, TransportExit, TransportOptions, WriterStats } from './api.js';
import { ReportLineParser, type SinkReport } from './report.js';
import { TRANSPORT_KINDS, type TransportKind } from './stats.js';

const KILL_GRACE_MS = 2000;
/** The engine's default spin (native/engine/writer.h IPCAST_DEFAULT_SPIN_US) and its range. */
const ENGINE_SPIN_US = 30;
export const MAX_SPIN_US = 10_000;
/** writeSpinUs when no option gives one: a full transport is retried on the main thread while
 *  the reader makes room at least this often (µs) before the writer's thread waits
 *  (docs/transports.md). The setting writeSpinUs (IPCAST_WRITE_SPIN_US, an integer 0..10000)
 *  overrides the engine's 30; `ipcast recv` and `ipcast bench` use this unless given --spin-us. */
export function defaultWriteSpinUs(): number {
  return settings().writeSpinUs ?? ENGINE_SPIN_US;
}

function positiveInt(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`Expected the \`${name}\` option to be an integer from ${min} to ${max}, got ${v}`, 'ERR_TRANSPORT_OPTION');
  }
}

export async function startTransportChild(kind: TransportKind, opts: TransportOptions = {}): Promise<TransportChild> {
  if (!TRANSPORT_KINDS.includes(kind)) {
    throw new UsageError(`unknown transport '${String(kind)}' (expected pipe, shm or msg)`, 'ERR_TRANSPORT_KIND');
  }
  positiveInt('slots', opts.slots, 1, 32767);
  positiveInt('slotBytes', opts.slotBytes, 64, 16 * 1024 * 1024);
  positiveInt('pipeBytes', opts.pipeBytes, 4096, 1 << 30);
  positiveInt('msgBytes', opts.msgBytes, 64, 1 << 20);
  positiveInt('slowUs', opts.slowUs, 0, 10_000_000);
  positiveInt('writeSpinUs', opts.writeSpinUs, 0, MAX_SPIN_US);
  positiveInt('reportMs', opts.reportMs, 10, 3_600_000);
  if (opts.decoder && opts.decoder.length === 0) throw new UsageError('the decoder command is empty', 'ERR_TRANSPORT_OPTION');

  const native = loadNative();
  const raw = kind === 'pipe' && opts.decoder !== undefined;
  let writer: NativeIpcWriter;
  try {
    writer = new native.IpcWriter(kind, {
      framed: !raw,
      pipeBytes: opts.pipeBytes ?? 1 << 20,
      slots: opts.slots,
      slotBytes: opts.slotBytes,
      msgBytes: opts.msgBytes,
      spinUs: opts.writeSpinUs ?? defaultWriteSpinUs(),
    });
  } catch (err) {
    // A kernel limit that ran out (SEMMNI, SHMMNI, SHMMAX, MSGMNI, ...) is named with its sysctl.
    const limit = kind === 'pipe' ? undefined : explainLimit(kind, err, { slots: opts.slots, slotBytes: opts.slotBytes });
    throw new RuntimeError(`${kind} transport: cannot create it: ${limit ?? (err as Error).message}`, 'ERR_TRANSPORT_CREATE', { cause: err });
  }
  const info = writer.info;
  let registry: string | undefined;
  try {
    if (kind === 'shm') registry = writeRegistry('shm', [{ kind: 'shm', id: info.shmId! }, { kind: 'sem', id: info.semId! }]);
    if (kind === 'msg') registry = writeRegistry('msg', [{ kind: 'msg', id: info.msgId! }]);
  } catch {
    registry = undefined; // the registry is a convenience for `ipcast ipcs`; the run goes on without it
  }

  let file: string;
  let args: string[];
  if (raw) {
    // The decoder reads the pipe itself; ipcast-sink --wrap only sets PR_SET_PDEATHSIG and execs
    // it in place, so a decoder that ignores EOF (a player window) dies with a SIGKILLed writer.
    const decoder = opts.decoder!;
    if (!findExecutable(decoder[0]!)) {
      writer.close();
      closeSync(info.readFd!);
      throw new RuntimeError(`${kind} transport: cannot start ${decoder[0]}: not found or not executable`, 'ERR_TRANSPORT_SPAWN');
    }
    file = nativeExecutable('ipcast-sink');
    args = ['--wrap', '--parent', String(pid), '--', ...decoder];
  } else {
    file = nativeExecutable('ipcast-sink');
    args = [`--${kind}`];
    if (kind === 'shm') args.push(String(info.shmId), '--sem', String(info.semId));
    if (kind === 'msg') args.push(String(info.msgId));
    args.push('--parent', String(pid));
    if (registry) args.push('--registry', registry);
    if (opts.slowUs) args.push('--slow-us', String(opts.slowUs));
    if (opts.reportMs) args.push('--report-ms', String(opts.reportMs));
    if (opts.decoder) args.push('--', ...opts.decoder);
    else if (opts.stdout === 'pipe') args.push('--stdout');
  }

  const stdin = kind === 'pipe' ? info.readFd! : 'ignore';
  const stdout = opts.stdout ?? 'inherit';
  let child: ChildProcess;
  try {
    // Its own process group: a Ctrl-C on the terminal reaches recv, which drains and stops the
    // children in order, instead of killing them mid-stream (PR_SET_PDEATHSIG covers recv dying).
    child = spawn(file, args, { stdio: [stdin, stdout, opts.stderrLines ? 'pipe' : 'inherit', raw ? 'ignore' : 'pipe'], detached: true });
    if (opts.stderrLines && child.stderr) forwardLines(child.stderr, opts.stderrLines);
  } catch (err) {
    writer.close();
    removeRegistry(registry);
    throw new RuntimeError(`${kind} transport: cannot start ${file}: ${(err as Error).message}`, 'ERR_TRANSPORT_SPAWN', { cause: err });
  } finally {
    if (kind === 'pipe') closeSync(info.readFd!); // the child has its own copy now
  }
  const t = new IpcTransportChild(kind, writer, child, registry, raw, opts);
  await t.started();
  return t;
}

/** A longer stderr line is cut here (a decoder printing binary must not grow a buffer). */
const MAX_STDERR_LINE = 4096;

/** Hands `stream`'s text to `each` line by line; what is left at its end counts as a line. */
function forwardLines(stream: Readable, each: (line: string) => void): void {
  const lines = new LineSplitter(each, MAX_STDERR_LINE);
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => lines.push(text));
  stream.on('error', () => {});
  stream.on('close', () => lines.end());
}

class IpcTransportChild extends EventEmitter implements TransportChild {
  readonly info: Readonly<NativeIpcInfo>;
  readonly exited: Promise<TransportExit>;
  private state: 'open' | 'ending' | 'ended' | 'closed' | 'dead' = 'open';
  private inflight: Promise<void> | null = null;
  private exitInfo: TransportExit | undefined;
  private finalReport: SinkReport | undefined;
  private readyReport: SinkReport | undefined;
  private spawnError: Error | undefined;
  private readonly events = new EventEmitter();

  constructor(
    readonly kind: TransportKind,
    private readonly writer: NativeIpcWriter,
    private readonly child: ChildProcess,
    private readonly registry: string | undefined,
    private readonly raw: boolean,
    private readonly opts: TransportOptions,
  ) {
    super();
    this.info = writer.info;
    const fd3 = child.stdio[3] as Readable | null | undefined;
    let fd3Ended: Promise<void> = Promise.resolve();
    if (fd3) {
      const parser = new ReportLineParser((r) => this.onReport(r));
      fd3.on('data', (d: Buffer) => parser.push(d));
      fd3Ended = new Promise((resolve) => {
        fd3.once('close', () => resolve());
        fd3.once('error', () => resolve());
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.spawnError = err;
        if (child.pid === undefined) {
          this.onChildGone();
          this.exitInfo = { code: null, signal: null };
          resolve(this.exitInfo);
          this.events.emit('exit');
        }
      });
      child.once('exit', (code, signal) => {
        this.onChildGone();
        // the final report may still be in flight on fd 3: wait for its end, bounded
        const bound = new Promise<void>((r) => setTimeout(r, 1000).unref());
        void Promise.race([fd3Ended, bound]).then(() => {
          this.exitInfo = { code, signal, report: this.finalReport };
          resolve(this.exitInfo);
          this.events.emit('exit');
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stdout(): Readable | null {
    return this.child.stdout;
  }

  get sink(): boolean {
    return !this.raw;
  }

  get writable(): boolean {
    return this.state === 'open' && this.inflight === null && this.writer.writable();
  }

  stats(): WriterStats {
    const s = this.writer.stats();
    return { records: s.records, bytes: s.bytes, waits: s.waits, waitSeconds: s.waitNs / 1e9 };
  }

  /** Resolves once the child runs (and, for the sink, has attached and said ready). */
  async started(): Promise<void> {
    const what = this.raw ? 'the decoder' : 'ipcast-sink';
    await new Promise<void>((resolve, reject) => {
      const fail = () => {
        const detail = this.spawnError
          ? this.spawnError.message
          : (this.finalReport?.error ?? `it exited with ${this.exitText()}`);
        reject(new RuntimeError(`${this.kind} transport: ${what} did not start: ${detail}`, 'ERR_TRANSPORT_SPAWN', { cause: this.spawnError }));
      };
      if (this.raw) {
        this.child.once('spawn', () => resolve());
      } else {
        if (this.readyReport) return resolve();
        this.events.once('ready', () => resolve());
      }
      this.events.once('exit', fail);
      const timer = setTimeout(() => {
        reject(new RuntimeError(`${this.kind} transport: ${what} did not report ready within ${this.opts.readyTimeoutMs ?? 10_000} ms`, 'ERR_TRANSPORT_SPAWN'));
      }, this.opts.readyTimeoutMs ?? 10_000);
      timer.unref();
    }).catch(async (err) => {
      await this.close();
      throw err;
    });
  }

  get nativeWriter(): NativeIpcWriter {
    return this.writer;
  }

  write(payload: Buffer, meta?: HandOffMeta): Promise<void> {
    return this.writeBatch([payload], meta ? [meta] : undefined);
  }

  writeBatch(payloads: Buffer[], metas?: (HandOffMeta | undefined)[]): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.stateError());
    return this.enqueue(payloads, metas, false);
  }

  private async enqueue(payloads: Buffer[], metas: (HandOffMeta | undefined)[] | undefined, eos: boolean): Promise<void> {
    for (let i = 0; this.inflight; i++) {
      await this.inflight.catch(() => {});
      if (i > 1_000_000) throw new RuntimeError('transport write queue did not drain', 'ERR_TRANSPORT_IO');
    }
    if (this.state !== 'open' && !(eos && this.state === 'ending')) throw this.stateError();
    let sus: Float64Array | null = null;
    if (metas?.some((m) => m?.senderTimestampUs)) {
      sus = new Float64Array(payloads.length);
      for (let i = 0; i < payloads.length; i++) sus[i] = metas[i]?.senderTimestampUs ?? 0;
    }
    let r: true | Promise<void>;
    try {
      r = this.writer.write(payloads, sus, eos);
    } catch (err) {
      throw this.translate(err);
    }
    if (r === true) return;
    const p: Promise<void> = r.then(
      () => {
        this.inflight = null;
      },
      (err: unknown) => {
        this.inflight = null;
        throw this.translate(err);
      },
    );
    this.inflight = p;
    return p;
  }

  async end(): Promise<void> {
    if (this.state !== 'open') {
      if (this.state === 'ending' || this.state === 'ended') {
        await this.exited;
        return;
      }
      throw this.stateError();
    }
    this.state = 'ending';
    try {
      if (!this.raw) await this.enqueue([], undefined, true);
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.kind === 'pipe') this.writer.close(); // EOF after the EOS record (or the raw bytes)
    const timeoutMs = this.opts.endTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      await this.close();
      throw new RuntimeError(`${this.kind} transport: the child did not exit within ${timeoutMs} ms after end of stream`, 'ERR_TRANSPORT_END_TIMEOUT');
    }
    this.state = 'ended';
    this.cleanup();
  }

  async close(): Promise<void> {
    if (this.state !== 'ended' && this.state !== 'dead') this.state = 'closed';
    this.cleanup();
    if (!this.exitInfo && this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
      await this.exited;
      clearTimeout(killer);
    }
  }

  private cleanup(): void {
    this.writer.close(); // removes the semaphore array / queue / segment; closes the pipe
    removeRegistry(this.registry);
  }

  private onChildGone(): void {
    if (this.state === 'open' || this.state === 'ending') this.state = 'dead';
    this.cleanup(); // wakes a waiting writer (EIDRM / closed flag) so it rejects promptly
  }

  private onReport(r: SinkReport): void {
    if (r.type === 'ready') {
      this.readyReport = r;
      this.events.emit('ready');
    } else if (r.type === 'final') {
      this.finalReport = r;
    } else if (r.type === 'progress') {
      this.emit('progress', r);
    }
    this.emit('report', r);
  }

  private exitText(): string {
    const c = this.child;
    return c.signalCode ? `signal ${c.signalCode}` : `code ${c.exitCode}`;
  }

  private stateError(): RuntimeError {
    if (this.state === 'dead') {
      const why = this.finalReport?.error ? `: ${this.finalReport.error}` : '';
      return new RuntimeError(
        `${this.kind} transport: the child (pid ${this.pid}) exited with ${this.exitText()}${why}`,
        'ERR_TRANSPORT_CHILD_EXITED',
      );
    }
    return new RuntimeError(`${this.kind} transport: already ${this.state === 'ending' ? 'ending' : this.state}`, 'ERR_TRANSPORT_CLOSED');
  }

  private translate(err: unknown): RuntimeError {
    const code = (err as { code?: string }).code;
    const childGone = this.state === 'dead' || this.child.exitCode !== null || this.child.signalCode !== null;
    if (childGone || code === 'EPIPE') {
      if (this.state === 'open' || this.state === 'ending') this.state = 'dead';
      const e = this.stateError();
      if (e.code === 'ERR_TRANSPORT_CHILD_EXITED' && this.child.exitCode === null && this.child.signalCode === null) {
        return new RuntimeError(`${this.kind} transport: the child (pid ${this.pid}) closed its end (EPIPE)`, 'ERR_TRANSPORT_CHILD_EXITED', { cause: err });
      }
      return new RuntimeError(e.message, e.code, { cause: err });
    }
    if (this.state === 'closed' || code === 'ECANCELED' || code === 'EIDRM') {
      return new RuntimeError(`${this.kind} transport: closed while writing`, 'ERR_TRANSPORT_CLOSED', { cause: err });
    }
    return new RuntimeError(`${this.kind} transport: ${(err as Error).message}`, 'ERR_TRANSPORT_IO', { cause: err });
  }
}

/** Is `name` an executable file (a path) or in PATH, as execvp would find it? */
