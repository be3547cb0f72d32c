/**
 * Sources: what `ipcast send SOURCE` reads, as one or more channels.
 *
 *   FILE          one channel
 *   FOLDER        one channel per entry, numbered from 1 in name order:
 *                   a sub-folder: its media files played in name order; its name is the
 *                   channel name, its desc.txt (if any) the description;
 *                   a file: the channel name is the file name without its extension.
 *                 Hidden entries and .txt files are not channels.
 *   -             stdin, one channel
 *   tone[:HZ[:SECONDS]]   the built-in WAV sine (tone.ts), one channel
 *
 * A channel yields its stream in pieces of exactly `chunkBytes` (only the last piece of a
 * file may be shorter) and can say its bitrate when the format tells (bitrate.ts).
 */
import { constants, type Dirent } from 'node:fs';
import { access, open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Readable } from 'node:stream';

import { OptionError, RuntimeError, UsageError, describeSystemError } from '../shared/errors.js';
import { MEASURE_BYTES, measureBitrate, type MeasuredRate } from './bitrate.js';
import { DEFAULT_TONE_HZ, TONE_BITRATE, toneChunks } from './tone.js';

export type SourceSpec =
  | { kind: 'file'; path: string }
  | { kind: 'folder'; path: string }
  | { kind: 'stdin' }
  | { kind: 'tone'; hz: number; seconds?: number };

export interface ChannelSource {
  /** 1..65535; the channel id in chunk headers and the guide. */
  id: number;
  name: string;
  description: string;
  /** The bitrate the format tells, or null. May read the head of the source (once). */
  measure(): Promise<MeasuredRate | null>;
  /** The stream in pieces of `chunkBytes`; `loop` replays a finite source (`onLoop` each time). */
  chunks(chunkBytes: number, loop: boolean, onLoop?: () => void): AsyncIterable<Buffer>;
  /**
   * The same stream in blocks of many chunks (a file's reads), when the source has them: each
   * block is cut into pieces of `chunkBytes` and only its last piece may be shorter. The
   * native pacing loop takes these, so that JS does not touch every chunk.
   */
  blocks?(chunkBytes: number, loop: boolean, onLoop?: () => void): AsyncIterable<Buffer>;
}

export const MAX_CHANNELS = 65535;

/** Text on the command line -> a source description. Does not touch the file system. */
export function parseSource(text: string): SourceSpec {
  if (text === '-') return { kind: 'stdin' };
  const m = /^tone(?::([^:]*))?(?::([^:]*))?$/.exec(text);
  if (m) {
    const hz = m[1] === undefined || m[1] === '' ? DEFAULT_TONE_HZ : Number(m[1]);
    if (!/^\d+$/.test(m[1] ?? '440') || !(hz >= 1 && hz <= 20_000)) {
      throw new UsageError(`tone frequency must be a whole number of Hz in 1..20000, got '${m[1]}'`, 'ERR_BAD_SOURCE');
    }
    if (m[2] === undefined) return { kind: 'tone', hz };
    const seconds = Number(m[2]);
    if (!/^\d+(\.\d+)?$/.test(m[2]) || !(seconds > 0)) {
      throw new UsageError(`tone duration must be a number of seconds above zero, got '${m[2]}'`, 'ERR_BAD_SOURCE');
    }
    return { kind: 'tone', hz, seconds };
  }
  return { kind: 'file', path: text };
}

export interface ResolveOptions {
  /** Channel id of a single source (default 1). */
  channel?: number;
  /** Channel name of a single source. */
  name?: string;
  /** What `-` reads: the command passes its standard input. */
  stdin?: Readable;
}

/** Looks at the file system and returns the channels. Missing/unreadable -> RuntimeError. */
export async function resolveSource(spec: SourceSpec | string, opts: ResolveOptions = {}): Promise<ChannelSource[]> {
  if (typeof spec === 'string') spec = parseSource(spec);
  const id = opts.channel ?? 1;
  switch (spec.kind) {
    case 'tone':
      return [toneSource(spec.hz, spec.seconds, id, opts.name)];
    case 'stdin':
      if (!opts.stdin) throw new UsageError("source '-' (stdin) needs a stream to read", 'ERR_USAGE');
      return [stdinSource(opts.stdin, id, opts.name)];
    case 'file':
    case 'folder': {
      const st = await stat(spec.path).catch((err: unknown) => {
        throw new RuntimeError(`source: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
      });
      if (st.isDirectory()) {
        if (opts.channel !== undefined || opts.name !== undefined) {
          throw new OptionError('{channel} and {name} apply to a single source; a folder numbers its channels from 1', 'ERR_USAGE');
        }
        return folderSource(spec.path);
      }
      await access(spec.path, constants.R_OK).catch((err: unknown) => {
        throw new RuntimeError(`source: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
      });
      return [fileSource([spec.path], id, opts.name ?? stripExt(basename(spec.path)), basename(spec.path))];
    }
  }
}

function stripExt(name: string): string {
  const ext = extname(name);
  return ext && ext !== name ? name.slice(0, -ext.length) : name;
}

function isChannelEntry(e: Dirent): boolean {
  return !e.name.startsWith('.') && !/\.txt$/i.test(e.name) && (e.isFile() || e.isDirectory());
}

const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function listDir(path: string): Promise<Dirent[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).sort(byName);
  } catch (err) {
    throw new RuntimeError(`source folder: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
  }
}

async function folderSource(path: string): Promise<ChannelSource[]> {
  const entries = (await listDir(path)).filter(isChannelEntry);
  const channels: ChannelSource[] = [];
  for (const e of entries) {
    const full = join(path, e.name);
    if (e.isFile()) {
      channels.push(fileSource([full], channels.length + 1, stripExt(e.name), e.name));
      continue;
    }
    const inner = await listDir(full);
    const files = inner.filter((f) => f.isFile() && isChannelEntry(f)).map((f) => join(full, f.name));
    if (files.length === 0) continue; // an empty sub-folder is not a channel
    const descFile = inner.find((f) => f.isFile() && f.name.toLowerCase() === 'desc.txt');
    let description = '';
    if (descFile) {
      description = (await readFile(join(full, descFile.name), 'utf8').catch(() => '')).trim().replace(/\s+/g, ' ');
    }
    channels.push(fileSource(files, channels.length + 1, e.name, description));
  }
  if (channels.length === 0) {
    throw new RuntimeError(`source folder ${path} has no channels (no media files or sub-folders with media files)`, 'ERR_SOURCE');
  }
  if (channels.length > MAX_CHANNELS) {
    throw new RuntimeError(`source folder ${path} has ${channels.length} channels; at most ${MAX_CHANNELS}`, 'ERR_SOURCE');
  }
  return channels;
}

/** Bytes read from the file per read() call: several chunks at a time. */
const READ_BLOCK_BYTES = 256 * 1024;

export function fileSource(paths: string[], id: number, name: string, description: string): ChannelSource {
  let measured: Promise<MeasuredRate | null> | undefined;
  return {
    id,
    name,
    description,
    measure() {
      measured ??= (async () => {
        const fh = await open(paths[0]!, 'r');
        try {
          const head = Buffer.alloc(MEASURE_BYTES);
          const { bytesRead } = await fh.read(head, 0, head.length, 0);
          return measureBitrate(head.subarray(0, bytesRead));
        } finally {
          await fh.close();
        }
      })().catch((err: unknown) => {
        throw new RuntimeError(`source: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
      });
      return measured;
    },
    chunks: (chunkBytes, loop, onLoop) => sliceBlocks(readFiles(paths, chunkBytes, loop, onLoop), chunkBytes),
    blocks: (chunkBytes, loop, onLoop) => readFiles(paths, chunkBytes, loop, onLoop),
  };
}

async function* sliceBlocks(blocks: AsyncIterable<Buffer>, chunkBytes: number): AsyncGenerator<Buffer> {
  for await (const b of blocks) {
    for (let o = 0; o < b.length; o += chunkBytes) yield b.subarray(o, Math.min(o + chunkBytes, b.length));
  }
}

/** The files' reads, each a whole number of chunks except the last of each file. */
async function* readFiles(paths: string[], chunkBytes: number, loop: boolean, onLoop?: () => void): AsyncGenerator<Buffer> {
  const block = chunkBytes * Math.max(1, Math.floor(READ_BLOCK_BYTES / chunkBytes));
  for (;;) {
    let any = false;
    for (const path of paths) {
      let fh;
      try {
        fh = await open(path, 'r');
      } catch (err) {
        throw new RuntimeError(`source: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
      }
      try {
        for (;;) {
          const buf = Buffer.allocUnsafe(block);
          let bytesRead: number;
          try {
            ({ bytesRead } = await fh.read(buf, 0, block, null));
          } catch (err) {
            throw new RuntimeError(`source: reading ${path}: ${describeSystemError(err)}`, 'ERR_SOURCE', { cause: err });
          }
          if (bytesRead === 0) break;
          any = true;
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    }
    if (!loop || !any) return; // an empty file looped would spin
    onLoop?.();
  }
}

function toneSource(hz: number, seconds: number | undefined, id: number, name?: string): ChannelSource {
  return {
    id,
    name: name ?? `tone ${hz} Hz`,
    description: `test signal: ${hz} Hz sine, WAV 44.1 kHz 16-bit mono${seconds === undefined ? '' : `, ${seconds} s`}`,
    measure: async () => ({ bitsPerSecond: TONE_BITRATE, how: 'test tone: WAV 44.1 kHz 16-bit mono' }),
    async *chunks(chunkBytes, loop, onLoop) {
      for (;;) {
        yield* toneChunks(seconds === undefined ? { hz } : { hz, seconds }, chunkBytes);
        if (!loop || seconds === undefined) return;
        onLoop?.();
      }
    },
  };
}

/** Read from stdin before measuring: at least this much (or the end), at most STDIN_PEEK_MAX. */
const STDIN_PEEK_MIN = 64 * 1024;
const STDIN_PEEK_MAX = 256 * 1024;

function stdinSource(input: Readable, id: number, name?: string): ChannelSource {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let prefix: Buffer[] = [];
  let ended = false;
  let measured: Promise<MeasuredRate | null> | undefined;
  return {
    id,
    name: name ?? 'stdin',
    description: 'standard input',
    measure() {
      measured ??= (async () => {
        let have = 0;
        for (;;) {
          const r = await iterator.next();
          if (r.done) {
            ended = true;
            break;
          }
          const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
          prefix.push(b);
          have += b.length;
          if (have < STDIN_PEEK_MIN) continue;
          const m = measureBitrate(Buffer.concat(prefix));
          if (m || have >= STDIN_PEEK_MAX) return m;
        }
        return measureBitrate(Buffer.concat(prefix));
      })();
      return measured;
    },
    async *chunks(chunkBytes) {
      let pending: Buffer = Buffer.concat(prefix);
      prefix = [];
      while (pending.length >= chunkBytes) {
        yield pending.subarray(0, chunkBytes);
        pending = pending.subarray(chunkBytes);
      }
      try {
        while (!ended) {
          const r = await iterator.next();
          if (r.done) break;
          const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
          pending = pending.length === 0 ? b : Buffer.concat([pending, b]);
          while (pending.length >= chunkBytes) {
            yield pending.subarray(0, chunkBytes);
            pending = pending.subarray(chunkBytes);
          }
        }
      } finally {
        // Stop reading stdin when the sender stops early.
        if (!ended) await iterator.return?.();
      }
      if (pending.length > 0) yield pending;
    },
  };
}
