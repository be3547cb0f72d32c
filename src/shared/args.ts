/**
 * Argument parsing for every subcommand: node's util.parseArgs in strict mode, with its
 * errors turned into one-line UsageErrors (exit code 2), plus typed value parsers.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandLine(command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${msg} (see 'ipcast ${command} --help')`, 'ERR_BAD_ARGUMENT', { cause: err });
  }
}

/** "320k", "8M", "1.5M", "1000000" -> bits per second. "max" -> Infinity. */
export function parseRate(text: string, what = '--rate'): number {
  if (text === 'max') return Infinity;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)(?:bps|bit\/s)?$/.exec(text);
  if (!m) throw new UsageError(`${what} expects a bitrate such as 320k, 8M or max, got '${text}'`, 'ERR_BAD_RATE');
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bps = Number(m[1]) * mult;
  if (!(bps > 0)) throw new UsageError(`${what} must be above zero, got '${text}'`, 'ERR_BAD_RATE');
  return bps;
}

/** A whole number in [min, max]; sizes accept k/M suffixes in binary units (64k = 65536). */
export function parseInteger(text: string, what: string, min: number, max: number, sizes = false): number {
  const m = sizes ? /^(\d+)([kKmM]?)$/.exec(text) : /^(\d+)()$/.exec(text);
  if (!m) throw new UsageError(`${what} expects a whole number, got '${text}'`, 'ERR_BAD_NUMBER');
  const n = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 }[m[2]!.toLowerCase() as '' | 'k' | 'm']);
  if (n < min || n > max) throw new UsageError(`${what} must be ${min}..${max}, got ${text}`, 'ERR_BAD_NUMBER');
  return n;
}

/** A positive duration in seconds (decimals allowed). */
export function parseSeconds(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) {
    throw new UsageError(`${what} expects a number of seconds above zero, got '${text}'`, 'ERR_BAD_NUMBER');
  }
  return n;
}

/** [HOST:]PORT for --metrics; HOST defaults to 127.0.0.1 so nothing is exposed unless asked. */
export function parseListenAddress(text: string, what = '--metrics'): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]+):)?(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 0 || port > 65535) {
    throw new UsageError(`${what} expects [HOST:]PORT such as 9464 or 127.0.0.1:9464, got '${text}'`, 'ERR_BAD_ADDRESS');
  }
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}

export function str(v: Parsed['values'][string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: Parsed['values'][string]): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
