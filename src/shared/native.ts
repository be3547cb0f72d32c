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

/** The raw surface of native/addon.cc. Validation and defaults live in the TypeScript above it. */
export interface NativeBinding {
  crc32c(buf: Uint8Array): number;
  decodeChunk(buf: Uint8Array): NativeDecoded;
  encodeChunk(
    header: { kind: number; channel: number; sequence: number; timestampUs: bigint; flags?: number },
    payload: Uint8Array,
  ): Buffer;
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
