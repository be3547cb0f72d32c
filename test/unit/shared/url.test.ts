import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/shared/errors.js';
import { parseEndpoint } from '../../../src/shared/url.js';

describe('parseEndpoint: good forms', () => {
  it('multicast send with ttl, iface and loop', () => {
    expect(parseEndpoint('udp://239.255.0.1:5004?ttl=1&iface=127.0.0.1', 'send')).toMatchObject({
      proto: 'udp', mode: 'multicast', host: '239.255.0.1', port: 5004, ttl: 1, iface: '127.0.0.1', loop: true, family: 4,
    });
    expect(parseEndpoint('udp://239.1.2.3:6000?iface=127.0.0.1&loop=0&ttl=4', 'send')).toMatchObject({ ttl: 4, loop: false });
  });
  it('ttl defaults to 1', () => {
    expect(parseEndpoint('udp://239.255.0.1:5004?iface=127.0.0.1', 'send')).toMatchObject({ ttl: 1 });
  });
  it('source-specific multicast receive', () => {
    expect(parseEndpoint('udp://@239.255.0.1:5004?iface=127.0.0.1&source=10.0.0.1', 'recv')).toMatchObject({
      mode: 'multicast', host: '239.255.0.1', iface: '127.0.0.1', source: '10.0.0.1',
    });
  });
  it('unicast receive on any address, with a receive buffer', () => {
    expect(parseEndpoint('udp://@:5004', 'recv')).toMatchObject({ mode: 'unicast', host: '', port: 5004 });
    expect(parseEndpoint('udp://@127.0.0.1:5004?rcvbuf=8388608', 'recv')).toMatchObject({ host: '127.0.0.1', rcvbuf: 8388608 });
  });
  it('unicast and broadcast send, IPv6 in brackets', () => {
    expect(parseEndpoint('udp://127.0.0.1:5004', 'send')).toMatchObject({ mode: 'unicast' });
    expect(parseEndpoint('udp://127.255.255.255:5004?broadcast=1', 'send')).toMatchObject({ mode: 'broadcast' });
    expect(parseEndpoint('udp://[::1]:5004', 'send')).toMatchObject({ host: '::1', family: 6 });
  });
  it('IPv6 groups: iface by name or address, source-specific, ttl', () => {
    expect(parseEndpoint('udp://[ff15::13:1]:5004?iface=eth0&ttl=4', 'send')).toMatchObject({
      mode: 'multicast', host: 'ff15::13:1', family: 6, iface: 'eth0', ttl: 4,
    });
    expect(parseEndpoint('udp://[ff3e::1]:5004?iface=fd13::2', 'send')).toMatchObject({ mode: 'multicast', iface: 'fd13::2' });
    expect(parseEndpoint('udp://@[ff3e::13:1]:5004?iface=veth-a.1&source=fd13::2', 'recv')).toMatchObject({
      mode: 'multicast', host: 'ff3e::13:1', family: 6, iface: 'veth-a.1', source: 'fd13::2',
    });
    expect(parseEndpoint('udp://@[::]:5004', 'recv')).toMatchObject({ mode: 'unicast', host: '::', family: 6 });
    expect(parseEndpoint('udp://[fd13:1::2]:5004', 'send')).toMatchObject({ mode: 'unicast', family: 6 });
  });
  it('tcp listen and connect', () => {
    expect(parseEndpoint('tcp://127.0.0.1:5005', 'recv')).toMatchObject({ proto: 'tcp', host: '127.0.0.1', port: 5005 });
    expect(parseEndpoint('tcp://0.0.0.0:5005', 'send')).toMatchObject({ proto: 'tcp', host: '0.0.0.0' });
    expect(parseEndpoint('tcp://:5005', 'send')).toMatchObject({ host: '0.0.0.0' });
  });
});

describe('parseEndpoint: bad forms', () => {
  const cases: Array<[string, 'send' | 'recv', RegExp]> = [
    ['udp://', 'send', /expected HOST:PORT/],
    ['239.255.0.1:5004', 'send', /expected udp:\/\/\.\.\. or tcp/],
    ['http://127.0.0.1:80', 'send', /unsupported scheme 'http'/],
    ['udp://239.255.0.1:5004', 'send', /must name its interface/],
    ['udp://@239.255.0.1:5004', 'recv', /must name its interface/],
    ['udp://127.0.0.1:0', 'send', /port must be 1\.\.65535/],
    ['udp://127.0.0.1:70000', 'send', /port must be 1\.\.65535/],
    ['udp://127.0.0.1', 'send', /expected HOST:PORT/],
    ['udp://example.com:5004', 'send', /not an IP address/],
    ['udp://239.255.0.1:5004?iface=127.0.0.1&ttl=300', 'send', /ttl must be 0\.\.255/],
    ['udp://239.255.0.1:5004?iface=127.0.0.1&ttl=x', 'send', /ttl must be a whole number/],
    ['udp://239.255.0.1:5004?iface=eth0', 'send', /iface must be an interface address, got 'eth0'/],
    ['udp://239.255.0.1:5004?iface=::1', 'send', /iface ::1 is not of the group's address family \(IPv4\)/],
    ['udp://[ff15::1]:5004?iface=127.0.0.1', 'send', /iface 127\.0\.0\.1 is not of the group's address family \(IPv6\)/],
    ['udp://[ff15::1]:5004', 'send', /must name its interface/],
    ['udp://[ff15::1]:5004?iface=a/b', 'send', /iface must be an interface address or name, got 'a\/b'/],
    ['udp://[ff15::1]:5004?iface=averyveryverylongname', 'send', /iface must be an interface address or name/],
    ['udp://@[ff3e::1]:5004?iface=eth0&source=10.0.0.1', 'recv', /source 10\.0\.0\.1 is not of the group's address family \(IPv6\)/],
    ['udp://[fd13::1]:5004?iface=eth0', 'send', /not one/],
    ['udp://239.255.0.1:5004?iface=127.0.0.1&bogus=1', 'send', /unknown parameter 'bogus'/],
    ['udp://239.255.0.1:5004?iface=127.0.0.1&iface=127.0.0.2', 'send', /given twice/],
    ['udp://127.0.0.1:5004?ttl=2', 'send', /not one/],
    ['udp://:5004', 'recv', /starts with '@'/],
    ['udp://@:5004', 'send', /only for udp:\/\/ in ipcast recv/],
    ['udp://@:5004?source=1.2.3.4', 'recv', /source applies to a multicast group/],
    ['udp://@:5004?rcvbuf=-1', 'recv', /rcvbuf must be a whole number/],
    ['tcp://127.0.0.1:5005?ttl=1', 'recv', /tcp URLs take no parameters/],
    ['tcp://@127.0.0.1:5005', 'recv', /'@'/],
    ['tcp://127.0.0.1:5005/path', 'recv', /unexpected path/],
    ['tcp://:5005', 'recv', /missing host/],
  ];
  it.each(cases)('%s (%s)', (url, role, message) => {
    let caught: unknown;
    try {
      parseEndpoint(url, role);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe('ERR_BAD_URL');
    expect((caught as UsageError).exitCode).toBe(2);
    expect((caught as UsageError).message).toMatch(message);
    expect((caught as UsageError).message).not.toContain('\n');
  });
});
