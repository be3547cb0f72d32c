/** srt:// and rist:// URLs (src/shared/repair-url.ts): what is accepted, and the one-line refusals. */
import { describe, expect, it } from 'vitest';

import { ristNativeOptions } from '../../../src/shared/repair-url.js';
import { parseEndpoint } from '../../../src/shared/url.js';

const refused = (url: string, role: 'send' | 'recv', why: RegExp): void => {
  expect(() => parseEndpoint(url, role)).toThrow(why);
  try {
    parseEndpoint(url, role);
  } catch (err) {
    expect((err as { exitCode?: number }).exitCode).toBe(2);
  }
};

describe('srt:// URLs', () => {
  it('caller, listener (@ or mode=listener), rendezvous, with their options', () => {
    expect(parseEndpoint('srt://127.0.0.1:9000?latency=200&passphrase=0123456789&pbkeylen=32', 'send')).toMatchObject({
      proto: 'srt',
      mode: 'caller',
      host: '127.0.0.1',
      port: 9000,
      latencyMs: 200,
      passphrase: '0123456789',
      pbkeylen: 32,
    });
    expect(parseEndpoint('srt://@:9000', 'recv')).toMatchObject({ mode: 'listener', host: '', port: 9000 });
    expect(parseEndpoint('srt://0.0.0.0:9000?mode=listener', 'send')).toMatchObject({ mode: 'listener', host: '0.0.0.0' });
    expect(parseEndpoint('srt://[::1]:9000?mode=rendezvous&localport=9100', 'recv')).toMatchObject({ mode: 'rendezvous', family: 6, localPort: 9100 });
    expect(parseEndpoint('srt://@:9000?packetfilter=fec,cols:10,rows:10,arq:never', 'recv')).toMatchObject({ packetFilter: 'fec,cols:10,rows:10,arq:never' });
  });

  it('refuses what libsrt would refuse, in one line', () => {
    refused('srt://127.0.0.1:9000?passphrase=short', 'send', /passphrase must be 10\.\.79/);
    refused('srt://127.0.0.1:9000?pbkeylen=20&passphrase=0123456789', 'send', /pbkeylen must be 16, 24 or 32/);
    refused('srt://127.0.0.1:9000?pbkeylen=16', 'send', /pbkeylen needs a passphrase/);
    refused('srt://127.0.0.1:9000?packetfilter=xor', 'send', /packetfilter must read fec/);
    refused('srt://@:9000?mode=caller', 'recv', /'@' .* mode=caller/);
    refused('srt://:9000', 'send', /needs the peer's address/);
    refused('srt://239.1.1.1:9000', 'send', /SRT is unicast/);
    refused('srt://127.0.0.1:9000?latency=abc', 'send', /latency must be a whole number/);
    refused('srt://127.0.0.1:9000?ttl=3', 'send', /unknown parameter 'ttl'/);
  });
});

describe('rist:// URLs', () => {
  it('send to HOST:PORT, receive on @:PORT; librist gets its own spelling', () => {
    const out = parseEndpoint('rist://127.0.0.1:8000?buffer=500', 'send');
    expect(out).toMatchObject({ proto: 'rist', listen: false, host: '127.0.0.1', port: 8000, bufferMs: 500 });
    expect(ristNativeOptions(out as never, 1000)).toEqual({ role: 'send', url: 'rist://127.0.0.1:8000?buffer=500', statsIntervalMs: 1000 });
    const inp = parseEndpoint('rist://@:8000', 'recv');
    expect(ristNativeOptions(inp as never, 1000)).toEqual({ role: 'recv', url: 'rist://@0.0.0.0:8000', statsIntervalMs: 1000 });
  });

  it('a group names its interface: librist joins by name, ipcast pins what is sent to the address', () => {
    const out = parseEndpoint('rist://239.1.1.1:8000?iface=127.0.0.1&ttl=4', 'send');
    expect(out).toMatchObject({ proto: 'rist', multicast: true, iface: '127.0.0.1', ttl: 4 });
    // librist 0.2.7 ignores miface= for a sender; the interface goes to the addon instead.
    expect(ristNativeOptions(out as never, 1000)).toEqual({
      role: 'send',
      url: 'rist://239.1.1.1:8000',
      statsIntervalMs: 1000,
      multicastIface: '127.0.0.1',
      multicastTtl: 4,
    });
    const inp = parseEndpoint('rist://@239.1.1.1:8000?iface=127.0.0.1', 'recv');
    expect(ristNativeOptions(inp as never, 1000)).toMatchObject({ url: 'rist://@239.1.1.1:8000?miface=lo', multicastIface: '127.0.0.1', multicastTtl: 1 });
    // An address no interface here has: a usage error before librist is touched.
    const elsewhere = parseEndpoint('rist://239.1.1.1:8000?iface=192.0.2.77', 'send');
    expect(() => ristNativeOptions(elsewhere as never, 1000)).toThrow(/192\.0\.2\.77 is not on this machine/);
  });

  it('refuses an odd port, a group without its interface or over IPv6, a missing @', () => {
    refused('rist://127.0.0.1:8001', 'send', /even port/);
    refused('rist://239.1.1.1:8000', 'send', /must name its interface/);
    refused('rist://@239.1.1.1:8000', 'recv', /must name its interface/);
    refused('rist://239.1.1.1:8000?iface=lo', 'send', /IPv4 address of an interface/);
    refused('rist://[ff15::1]:8000?iface=127.0.0.1', 'send', /IPv4 only/);
    refused('rist://@239.1.1.1:8000?iface=127.0.0.1&ttl=2', 'recv', /ttl applies to sending/);
    refused('rist://127.0.0.1:8000?ttl=2', 'send', /apply to a multicast group/);
    refused('rist://239.1.1.1:8000?iface=127.0.0.1&ttl=256', 'send', /ttl must be a whole number 0\.\.255/);
    refused('rist://127.0.0.1:8000', 'recv', /starts with '@'/);
    refused('rist://@:8000', 'send', /'@' \(listen on\) is for receiving/);
  });
});
