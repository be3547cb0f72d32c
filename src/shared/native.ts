/**
 * The one loader of ipcast's native parts, and the typed description of the raw addon.
 * Both the addon (ipcast.node) and the executables built beside it (ipcast-sink, ...) are
 * found here; a failure lists every path that was tried.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RuntimeError } from './errors.js';

/** The package root: this file lives in src/shared/ (tests) or dist/shared/ (built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_DIRS = ['build/Release', 'build/Debug'].map((d) => join(PACKAGE_ROOT, d));

export interface NativeDecoded {
  ok: boolean;
  reason?: string;
  kind?: number;
  channel?: number;
  length?: number;
  sequence?: number;
  timestampUs?: bigint;
  flags?: number;
  checksum?: number;
}

/** Everything an IpcWriter reports about what it created (native/transport_binding.cc). */
export interface NativeIpcInfo {
  kind: 'pipe' | 'shm' | 'msg';
  framed: boolean;
  /** pipe: both ends (O_CLOEXEC; the write end O_NONBLOCK) and the capacity F_GETPIPE_SZ gave. */
  readFd?: number;
  writeFd?: number;
  capacity?: number;
  /** shm: the segment, its semaphore array, and the ring geometry. */
  shmId?: number;
  semId?: number;
  slots?: number;
  slotBytes?: number;
  segmentBytes?: number;
  /** msg: the queue, the message body size used, and the kernel limits seen. */
  msgId?: number;
  msgBody?: number;
  msgmax?: number;
  msgmnb?: number;
  qbytes?: number;
}

export interface NativeIpcStats {
  records: number;
  bytes: number;
  waits: number;
  waitNs: number;
  nextSeq: number;
  busy: boolean;
  closed: boolean;
  slotsPosted?: number;
}

/** The writer side of one IPC transport. Errors carry `code` (an errno name such as EPIPE, EIDRM). */
export interface NativeIpcWriter {
  readonly info: NativeIpcInfo;
  /** true when all went in without waiting; otherwise a promise settled off the main thread. */
  write(buffers: Uint8Array[], senderUs: Float64Array | null, eos: boolean): true | Promise<void>;
  writable(): boolean;
  stats(): NativeIpcStats;
  close(): void;
}

export interface NativeShmPeek {
  ok: boolean;
  reason?: string;
  version?: number;
  slots?: number;
  slotBytes?: number;
  semId?: number;
  creatorPid?: number;
  readerPid?: number;
  writePos?: number;
  readPos?: number;
  createdUnixMs?: number;
  segmentBytes?: number;
}

/** The raw surface of native/addon.cc. Validation and defaults live in the TypeScript above it. */
export interface NativeBinding {
  crc32c(buf: Uint8Array): number;
  decodeChunk(buf: Uint8Array): NativeDecoded;
  encodeChunk(
    header: { kind: number; channel: number; sequence: number; timestampUs: bigint; flags?: number },
    payload: Uint8Array,
  ): Buffer;
  IpcWriter: new (
    kind: 'pipe' | 'shm' | 'msg',
    options: { framed?: boolean; pipeBytes?: number; slots?: number; slotBytes?: number; msgBytes?: number },
  ) => NativeIpcWriter;
  /** Reads an ipcast ring header read-only; ok=false (reason EPROTO) when the segment is not ours. */
  ipcShmPeek(shmId: number): NativeShmPeek;
  /** IPC_RMID; 0 or -errno. */
  ipcRemove(kind: 'shm' | 'sem' | 'msg', id: number): number;
  ipcMsgLimits(): { msgmax: number; msgmnb: number; msgmni: number };
  /** CLOCK_MONOTONIC ns, the clock of the records' hand-off stamps. */
  ipcNowNs(): bigint;
}

let cached: NativeBinding | undefined;

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const dir of BUILD_DIRS) {
    const file = join(dir, 'ipcast.node');
    tried.push(file);
    if (!existsSync(file)) continue;
    cached = require(file) as NativeBinding;
    return cached;
  }
  throw new RuntimeError(
    `the native addon is not built (run npm install); tried: ${tried.join(', ')}`,
    'ERR_NATIVE_MISSING',
  );
}

/** Path of an executable built by binding.gyp (ipcast-sink, ipcast-baseline). */
export function nativeExecutable(name: string): string {
  const tried: string[] = [];
  for (const dir of BUILD_DIRS) {
    const file = join(dir, name);
    tried.push(file);
    if (existsSync(file)) return file;
  }
  throw new RuntimeError(`${name} is not built (run npm install); tried: ${tried.join(', ')}`, 'ERR_NATIVE_MISSING');
}
