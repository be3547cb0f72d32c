/**
 * The common shape of every ipcast URL after "scheme://": [@]HOST:PORT[?k=v&...], HOST an
 * IPv4 address, [IPv6] or a name, PORT 1..65535, no path, each parameter once. What the
 * host and the parameters may be is the caller's (url.ts, repair-url.ts).
 */
import type { UsageError } from './errors.js';

export interface UrlParts {
  /** Written with '@' (listen on). */
  at: boolean;
  /** As written, brackets removed; '' when none was given. */
  host: string;
  port: number;
  params: Map<string, string>;
}

export function splitUrl(rest: string, bad: (why: string) => UsageError): UrlParts {
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (rest.includes('/')) throw bad('unexpected path after the port');
  const at = rest.startsWith('@');
  if (at) rest = rest.slice(1);
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(rest);
  if (!hp) throw bad('expected HOST:PORT');
  const port = Number(hp[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port must be 1..65535, got ${hp[3]}`);
  const params = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(query)) {
    if (params.has(k)) throw bad(`parameter '${k}' given twice`);
    params.set(k, v);
  }
  return { at, host: hp[1] ?? hp[2] ?? '', port, params };
}
