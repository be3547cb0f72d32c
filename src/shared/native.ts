/**
 * The one loader of ipcast's native parts, and the typed description of the raw addon.
 *
 * The addon (ipcast.node) is found by node-gyp-build, the way bufferutil or classic-level find
 * theirs: build/Release, then build/Debug, then a prebuild in prebuilds/<platform>-<arch>/
 * (`npm run prebuild`: ipcast.glibc.node, one Node-API binary for every Node >= 20). The
 * executables (ipcast-sink, the C baselines) are looked up beside the addon that loads first,
 * so the addon and its sink always come from the same build, then in the other folders.
 * A failure lists every path that was tried.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { arch, execPath, platform } from 'node:process';

import { RuntimeError } from './errors.js';
import { PACKAGE_ROOT } from './package-root.js';
const BUILD_DIRS = ['build/Release', 'build/Debug'].map((d) => join(PACKAGE_ROOT, d));
/** Where `npm run prebuild` puts this platform's binaries (scripts/prebuild.mjs). */
export const PREBUILD_DIR = join(PACKAGE_ROOT, 'prebuilds', `${platform}-${arch}`);

const require = createRequire(import.meta.url);

/** node-gyp-build's resolver (it has no types): the path of the .node file it would load. */
interface NodeGypBuild {
  path(dir: string): string;
}

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
  /** The wait policy in force: µs a full transport is retried before the writer waits (0 on one CPU). */
  spinUs?: number;
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
  /** Writes that found the transport full and spun; of those, how many the spin finished; time spun. */
  spins?: number;
  spinWins?: number;
  spinNs?: number;
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

/** Numbers per datagram in the `meta` array of NativeUdpSocket.receive (native/udp_binding.cc):
 * [offset in data, length, status (0 ok, else the ipcast_reason: index into DECODE_REASONS + 1),
 *  kind, channel, sequence, timestampUs, flags, checksum, reserved]. */
export const UDP_META_STRIDE = 10;

/** UdpPacer.stats() (native/pacer_binding.cc). */
export interface NativePacerStats {
  dests: { datagrams: number; bytes: number; guides: number; segmented: number; errors: number; errnos: [number, number][] }[];
  channels: { chunks: number; bytes: number; queued: number; ended: boolean }[];
}

/** The sender's native pacing loop (native/pacer/pacer.h): a thread of its own. */
export interface NativeUdpPacer {
  addDest(fd: number, host: string, port: number): number;
  /** rateBps 0 = unpaced. */
  addChannel(id: number, rateBps: number, burstBytes: number, maxQueueBytes: number): number;
  start(): void;
  /** Copies the block: 1 = more welcome, 0 = full ('drained' follows), -errno after end/stop. */
  push(channel: number, block: Uint8Array): number;
  end(channel: number): void;
  urgent(datagram: Uint8Array, guide: boolean): void;
  stop(): void;
  stats(): NativePacerStats;
  /** Resolves when the thread has ended. */
  done(): Promise<void>;
}

/** A non-blocking IPv4 UDP socket on Node's own loop: recvmmsg/sendmmsg in batches of 64.
 * Errors carry `code` (an errno name), `syscall`, and for bind `address` and `port`. */
export interface NativeUdpSocket {
  /** undefined once closed. */
  readonly port: number | undefined;
  /** The socket's inode (matches /proc/net/udp); undefined once closed. */
  readonly inode: number | undefined;
  /** The descriptor, for UdpRelay (which reads it on its own thread); undefined once closed. */
  readonly fd: number | undefined;
  /** SO_RCVBUF; returns what the kernel stored (twice what it granted). */
  /** force: past net.core.rmem_max with SO_RCVBUFFORCE when the process has CAP_NET_ADMIN. */
  setRecvBuffer(bytes: number, force?: boolean): number;
  /** IP_ADD_MEMBERSHIP / IP_ADD_SOURCE_MEMBERSHIP on the interface with address `iface`. */
  join(group: string, iface: string, source?: string): void;
  multicastOut(iface: string, ttl: number, loop: boolean): void;
  setBroadcast(on: boolean): void;
  setDestination(host: string, port: number): void;
  /** Starts receiving. `meta` is reused: read it during the call only; `data` is the batch's own copy. */
  receive(
    decode: boolean,
    onBatch: (data: Buffer, meta: Float64Array, count: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ): void;
  /** One sendmmsg of buffers[start .. start+64): how many went, or -errno (-EAGAIN: waitWritable). */
  send(buffers: Uint8Array[], start: number): number;
  /** Calls `cb` once when the socket can take datagrams again. */
  waitWritable(cb: () => void): void;
  /** Idempotent. */
  close(): void;
}

export type NativeRelayEvent =
  | 'guide'
  | 'selected'
  | 'session-end'
  | 'drained'
  | 'returned'
  | 'handoff-error'
  | 'socket-error';

/** One transport kind's counters in the native relay, over the whole run. */
export interface NativeRelayKindStats {
  handedOff: number;
  handedOffBytes: number;
  droppedSlow: number;
  handOffErrors: number;
  /** ns from a batch finding the transport full to the batch being in. */
  waitNs: number;
  /** Point in time: queued (and in flight) in this kind's outputs. */
  depth: number;
  bufferBytes: number;
}

export interface NativeRelayStats {
  datagrams: number;
  bytes: number;
  otherChannel: number;
  delivered: number;
  /** Chunks that keep the stream alive (data delivered, guide, heartbeat): the idle timer. */
  activity: number;
  lost: number;
  reordered: number;
  duplicates: number;
  channel: number;
  session: number;
  /** Indexed by the wire reason (1..7 as native/wire.h, 8 bad_guide); [0] unused. */
  decodeErrors: number[];
  pipe: NativeRelayKindStats;
  shm: NativeRelayKindStats;
  msg: NativeRelayKindStats;
}

/** The native relay path (native/relay_binding.cc); src/receiver/native-path.ts drives it. */
export interface NativeUdpRelay {
  attach(kind: 'pipe' | 'shm' | 'msg', session: number, writer: NativeIpcWriter): void;
  detach(kind: 'pipe' | 'shm' | 'msg', session: number, discard: boolean): void;
  endIdle(): void;
  stats(): NativeRelayStats;
  stop(): Promise<void>;
}

/** SRT statistics of one connection, from srt_bstats (native/repair/srt_binding.cc): totals since it opened. */
export interface NativeSrtStats {
  msTimeStamp: number;
  pktSentTotal: number;
  pktRecvTotal: number;
  pktSentUniqueTotal: number;
  pktRecvUniqueTotal: number;
  pktSndLossTotal: number;
  pktRcvLossTotal: number;
  pktRetransTotal: number;
  pktRcvRetrans: number;
  pktSndDropTotal: number;
  pktRcvDropTotal: number;
  pktRcvUndecryptTotal: number;
  pktRcvBelated: number;
  pktSentNAKTotal: number;
  pktRecvNAKTotal: number;
  byteSentTotal: number;
  byteRecvTotal: number;
  byteRetransTotal: number;
  pktSndFilterExtraTotal: number;
  pktRcvFilterExtraTotal: number;
  pktRcvFilterSupplyTotal: number;
  pktRcvFilterLossTotal: number;
  msRTT: number;
  mbpsSendRate: number;
  mbpsRecvRate: number;
  mbpsBandwidth: number;
  msSndTsbPdDelay: number;
  msRcvTsbPdDelay: number;
  msRcvBuf: number;
  pktSndBuf: number;
}

export type NativeSrtEvent = 'connected' | 'data' | 'closed' | 'error' | 'stopped';

/** One SRT endpoint: a caller's or rendezvous' one connection, or a listener's many. */
export interface NativeSrtLink {
  /** The bound port (listener), else the peer's. */
  readonly port: number;
  /** How many went into libsrt's send buffer, or -code (-6001: the buffer is full; others: gone). */
  send(id: number, buffers: Uint8Array[]): number;
  stats(id: number): NativeSrtStats | undefined;
  closeConnection(id: number): void;
  stop(): Promise<void>;
}

export interface NativeSrtOptions {
  mode: 'caller' | 'listener' | 'rendezvous';
  host: string;
  port: number;
  localPort?: number;
  family: 4 | 6;
  latency?: number;
  payloadSize?: number;
  packetFilter?: string;
  passphrase?: string;
  pbkeylen?: number;
  streamId?: string;
  connectTimeoutMs?: number;
  peerIdleMs?: number;
  backlog?: number;
}

/** One RIST endpoint (simple profile): a sender, or a receiver reading librist's output queue. */
export interface NativeRistLink {
  /** How many librist took, or -1. */
  write(buffers: Uint8Array[]): number;
  stop(): Promise<void>;
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
    options: { framed?: boolean; pipeBytes?: number; slots?: number; slotBytes?: number; msgBytes?: number; spinUs?: number },
  ) => NativeIpcWriter;
  /** Reads an ipcast ring header read-only; ok=false (reason EPROTO) when the segment is not ours. */
  ipcShmPeek(shmId: number): NativeShmPeek;
  /** IPC_RMID; 0 or -errno. */
  ipcRemove(kind: 'shm' | 'sem' | 'msg', id: number): number;
  ipcMsgLimits(): { msgmax: number; msgmnb: number; msgmni: number };
  /** CLOCK_MONOTONIC ns, the clock of the records' hand-off stamps. */
  ipcNowNs(): bigint;
  /** socket + bind (SO_REUSEADDR first when reuseAddr); address '' = any. */
  UdpSocket: new (address: string, port: number, reuseAddr: boolean) => NativeUdpSocket;
  UdpPacer: new (
    options: { raw: boolean; chunkBytes: number; gso: boolean },
    onEvent: (type: 'drained' | 'stopped', channel: number) => void,
  ) => NativeUdpPacer;
  UdpRelay: new (
    fd: number,
    options: { channel?: number; window?: number; maxHoldMs?: number; maxBufferBytes?: number; kinds: ('pipe' | 'shm' | 'msg')[] },
    onEvent: (type: NativeRelayEvent, kind: 'pipe' | 'shm' | 'msg' | undefined, a: number, b: number, data: Buffer | undefined) => void,
  ) => NativeUdpRelay;
  /** dlopen libsrt ('' = the Debian sonames); once per process. */
  srtLoad(name: string): { ok: boolean; version?: string; error?: string };
  SrtLink: new (
    options: NativeSrtOptions,
    onEvent: (type: NativeSrtEvent, id: number, data: Buffer | undefined, extra: Uint32Array | string) => void,
  ) => NativeSrtLink;
  ristLoad(name: string): { ok: boolean; version?: string; error?: string };
  RistLink: new (
    options: { role: 'send' | 'recv'; url: string; statsIntervalMs?: number; multicastIface?: string; multicastTtl?: number },
    onEvent: (type: 'data' | 'stats' | 'stopped', data: Buffer | undefined, extra: Uint32Array | string) => void,
  ) => NativeRistLink;
  /** Tests: the C sequencer over a script (op 0 push, 1 flushStale, 2 releaseAll). */
  relaySequencerReplay(
    ops: Uint8Array,
    seqs: Uint32Array,
    timestamps: Float64Array,
    nowMs: Float64Array,
    window: number,
    maxHoldMs: number,
  ): { order: number[]; lost: number; reordered: number; duplicates: number; restarts: number };
}

let cached: NativeBinding | undefined;

/** What node-gyp-build looks at, in its order (node-gyp-build.js `load.resolve`). */
function addonCandidates(): string[] {
  return [
    ...BUILD_DIRS.map((d) => join(d, '*.node')),
    join(PREBUILD_DIR, '*.node'),
    join(dirname(execPath), 'prebuilds', `${platform}-${arch}`, '*.node'),
  ];
}

/** The addon file node-gyp-build picks, or undefined when none fits this platform. */
export function nativeAddonPath(): string | undefined {
  try {
    return (require('node-gyp-build') as NodeGypBuild).path(PACKAGE_ROOT);
  } catch {
    return undefined;
  }
}

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const file = nativeAddonPath();
  if (file === undefined) {
    throw new RuntimeError(
      `the native addon is not built (run npm install, or npm run rebuild in a clone); tried: ${addonCandidates().join(', ')}`,
      'ERR_NATIVE_MISSING',
    );
  }
  cached = require(file) as NativeBinding;
  return cached;
}

/** The folders an executable is looked up in: beside the addon first, then the others. */
function executableDirs(): string[] {
  const addon = nativeAddonPath();
  const dirs = [...(addon === undefined ? [] : [dirname(addon)]), PREBUILD_DIR, ...BUILD_DIRS];
  return [...new Set(dirs)];
}

/** Path of an executable built by binding.gyp (ipcast-sink, ipcast-baseline, ipcast-udp-baseline). */
export function nativeExecutable(name: string): string {
  const tried: string[] = [];
  for (const dir of executableDirs()) {
    const file = join(dir, name);
    tried.push(file);
    if (existsSync(file)) return file;
  }
  throw new RuntimeError(
    `${name} is not built (run npm install, or npm run rebuild in a clone); tried: ${tried.join(', ')}`,
    'ERR_NATIVE_MISSING',
  );
}
