/**
 * The request head of an HTTP/1.x client, read with bounds checked before anything is kept.
 *
 * A player's request is a few hundred bytes: `GET /channel/1 HTTP/1.1`, a Host, a User-Agent.
 * The reader takes the bytes as they come, counts them against MAX_REQUEST_BYTES and the lines
 * against MAX_HEADER_LINES *before* it keeps them, and stops at the blank line that ends the
 * head. Whatever follows (a body, a pipelined request) is ignored: every response of this
 * server closes the connection. Failures carry the status to answer with:
 *   431  head over MAX_REQUEST_BYTES, or more than MAX_HEADER_LINES header lines
 *   400  a request line that is not METHOD SP TARGET SP HTTP/1.x, or a header line without ':'
 *   505  an HTTP version other than 1.0 / 1.1
 */
export const MAX_REQUEST_BYTES = 8192;
export const MAX_HEADER_LINES = 32;

export interface HttpRequest {
  method: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** The path, without the query string. */
  path: string;
  /** The query string, without '?' ('' when none). */
  query: string;
  /** Header names in lower case; the value of the last one given. */
  headers: Map<string, string>;
}

export type RequestResult =
  | { state: 'more' }
  | { state: 'done'; request: HttpRequest }
  | { state: 'error'; status: 400 | 431 | 505; why: string };

const END = Buffer.from('\r\n\r\n');

export class RequestReader {
  private parts: Buffer[] = [];
  private bytes = 0;
  private lines = 0;
  private finished = false;

  /** Feeds bytes; answers once, then ignores everything (the caller stops reading). */
  push(data: Buffer): RequestResult {
    if (this.finished) return { state: 'more' };
    // Never hold more than MAX_REQUEST_BYTES: only that much of what came is looked at.
    const take = data.subarray(0, MAX_REQUEST_BYTES - this.bytes);
    for (let i = 0; i < take.length; i++) if (take[i] === 0x0a) this.lines++;
    const whole = this.parts.length === 0 ? take : Buffer.concat([...this.parts, take]);
    const end = whole.indexOf(END, Math.max(0, this.bytes - 3));
    if (end < 0) {
      if (this.lines > MAX_HEADER_LINES + 1) return this.fail(431, `more than ${MAX_HEADER_LINES} header lines`);
      if (whole.length >= MAX_REQUEST_BYTES) return this.fail(431, `request head over ${MAX_REQUEST_BYTES} bytes`);
      this.parts = [whole];
      this.bytes = whole.length;
      return { state: 'more' };
    }
    this.finished = true;
    this.parts = [];
    const head = whole.toString('latin1', 0, end);
    const lines = head.split('\r\n').length - 1;
    if (lines > MAX_HEADER_LINES) return { state: 'error', status: 431, why: `more than ${MAX_HEADER_LINES} header lines` };
    return parseHead(head);
  }

  private fail(status: 431, why: string): RequestResult {
    this.finished = true;
    this.parts = [];
    return { state: 'error', status, why };
  }
}

function parseHead(head: string): RequestResult {
  const lines = head.split('\r\n');
  const m = /^([A-Z]{1,16}) (\S{1,4096}) HTTP\/(\d)\.(\d)$/.exec(lines[0]!);
  if (!m) return { state: 'error', status: 400, why: 'bad request line' };
  if (m[3] !== '1') return { state: 'error', status: 505, why: `HTTP/${m[3]}.${m[4]}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { state: 'error', status: 400, why: 'bad header line' };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let target = m[2]!;
  // An absolute-form target (a proxy's request) names the path after the authority.
  const abs = /^https?:\/\/[^/]*(\/.*)?$/i.exec(target);
  if (abs) target = abs[1] ?? '/';
  const q = target.indexOf('?');
  return { state: 'done', request: { method: m[1]!, minor: Number(m[4]), path: q >= 0 ? target.slice(0, q) : target, query: q >= 0 ? target.slice(q + 1) : '', headers } };
}
