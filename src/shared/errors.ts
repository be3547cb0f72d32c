/**
 * The two kinds of failure a user sees. Every error that reaches the CLI is one of these
 * and becomes one line on stderr: UsageError exits 2, RuntimeError exits 1.
 * Anything else is a bug and is printed with its stack.
 */
import { constants as osConstants } from 'node:os';

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** The errno name of a (positive) errno number: 'EAGAIN', or undefined when unknown. */
export function errnoName(errno: number): string | undefined {
  return ERRNO_NAMES.get(errno);
}

export type ExitCode = 0 | 1 | 2;

export class IpcastError extends Error {
  readonly code: string;
  readonly exitCode: 1 | 2;
  constructor(code: string, message: string, exitCode: 1 | 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A bad flag, a bad URL, a bad value: the user can fix the command line. Exit code 2. */
export class UsageError extends IpcastError {
  constructor(message: string, code = 'ERR_USAGE', options?: { cause?: unknown }) {
    super(code, message, 2, options);
  }
}

/**
 * A bad option of a library call, named the library's way (`{chunkBytes} must be 1..N`: the
 * option in braces). The message says `chunkBytes`; a command that took the value from a flag
 * says its flag instead (withNames({ chunkBytes: '--chunk' })): one message, two audiences.
 */
export class OptionError extends UsageError {
  constructor(
    readonly template: string,
    code = 'ERR_USAGE',
  ) {
    super(OptionError.fill(template, {}), code);
  }

  withNames(names: Record<string, string>): UsageError {
    return new UsageError(OptionError.fill(this.template, names), this.code, { cause: this });
  }

  private static fill(template: string, names: Record<string, string>): string {
    return template.replace(/\{(\w+)\}/g, (_, option: string) => names[option] ?? option);
  }
}

/** Something failed while running: a missing file, a port in use, a dead child. Exit code 1. */
export class RuntimeError extends IpcastError {
  constructor(message: string, code = 'ERR_RUNTIME', options?: { cause?: unknown }) {
    super(code, message, 1, options);
  }
}

/** Turns a Node system error (ENOENT, EADDRINUSE, ...) into one readable line. */
export function describeSystemError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as NodeJS.ErrnoException;
    const what = e.code ?? e.name ?? 'Error';
    const where = e.path ?? (e as { address?: string }).address;
    const port = (e as { port?: number }).port;
    const target = where ? ` ${where}${port !== undefined ? `:${port}` : ''}` : '';
    const text = friendlyErrno[e.code ?? ''];
    if (text) return `${text}${target} (${what})`;
    if (e.message) return e.message;
  }
  return String(err);
}

const friendlyErrno: Record<string, string> = {
  ENOENT: 'no such file or directory:',
  EACCES: 'permission denied:',
  EISDIR: 'is a directory:',
  ENOTDIR: 'not a directory:',
  EADDRINUSE: 'address already in use:',
  EADDRNOTAVAIL: 'address not available on this machine:',
  ECONNREFUSED: 'connection refused by',
  EMFILE: 'too many open files:',
  EPIPE: 'the reader closed its end:',
};
