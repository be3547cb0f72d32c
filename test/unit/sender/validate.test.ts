/** What startSender refuses before it opens anything (src/sender/validate.ts): --max-clients and --wait-clients together. */
import { describe, expect, it } from 'vitest';

import { validateSenderOptions } from '../../../src/sender/validate.js';
import type { SenderOptions } from '../../../src/sender/index.js';
import { parseEndpoint } from '../../../src/shared/url.js';

const opts = (urls: string[], extra: Partial<SenderOptions>): SenderOptions =>
  ({ channels: [{ id: 1 }], outputs: urls.map((u) => parseEndpoint(u, 'send')), rate: 1e6, ...extra }) as SenderOptions;
const check = (o: SenderOptions): void => validateSenderOptions(o, 'ipcast', 1316);

describe('--max-clients with --wait-clients', () => {
  it('bounds every TCP output and the HTTP server: more waited-for clients than they may serve is refused', () => {
    expect(() => check(opts(['tcp://127.0.0.1:9000'], { maxClients: 1, waitClients: 2 }))).toThrow(/can never be reached/);
    expect(() => check(opts(['tcp://127.0.0.1:9000'], { maxClients: 1, waitClients: 2, http: { host: '127.0.0.1', port: 8000 } }))).not.toThrow();
    expect(() => check(opts([], { maxClients: 1, waitClients: 1, http: { host: '127.0.0.1', port: 8000 } }))).not.toThrow();
    expect(() => check(opts([], { maxClients: 1, waitClients: 2, http: { host: '127.0.0.1', port: 8000 } }))).toThrow(/can never be reached/);
  });

  it('an SRT listener is not bounded by it; without a server to bound it is a usage error', () => {
    expect(() => check(opts(['tcp://127.0.0.1:9000', 'srt://@:9100'], { maxClients: 1, waitClients: 5 }))).not.toThrow();
    expect(() => check(opts(['udp://127.0.0.1:9000'], { maxClients: 1 }))).toThrow(/needs a tcp:\/\/ output or /);
  });
});
