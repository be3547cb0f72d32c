/** Runs the built CLI (dist/, compiled by the global setup) as a user would. */
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

export const IPCAST_BIN = fileURLToPath(new URL('../../bin/ipcast.js', import.meta.url));

export function ipcast(args: string[], options: { timeout?: number; input?: string | Buffer; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [IPCAST_BIN, ...args], {
    reject: false,
    timeout: options.timeout ?? 20_000,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    ...(options.env ? { env: options.env } : {}),
    encoding: 'utf8',
  });
}

export type IpcastProcess = ResultPromise;
