import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/shared/errors.js';
import { ipv6MulticastScope, isLocalAddress } from '../../../src/shared/local-address.js';

const loHasIpv6 = networkInterfaces().lo?.some((a) => a.address === '::1') ?? false;

describe('local addresses and the IPv6 multicast interface', () => {
  it('127.0.0.1 is local, a TEST-NET address is not', () => {
    expect(isLocalAddress('127.0.0.1')).toBe(true);
    expect(isLocalAddress('192.0.2.77')).toBe(false);
  });
  it.skipIf(!loHasIpv6)(`an interface name or one of its IPv6 addresses becomes ::%NAME${loHasIpv6 ? '' : ' (needs ::1 on lo)'}`, () => {
    expect(ipv6MulticastScope('lo')).toBe('::%lo');
    expect(ipv6MulticastScope('::1')).toBe('::%lo');
  });
  it.each([
    ['no-such-if0', /interface no-such-if0 is not on this machine \(or has no IPv6 address\)/],
    ['2001:db8::77', /interface address 2001:db8::77 is not on this machine/],
  ])('%s: a usage error naming it', (iface, message) => {
    let caught: unknown;
    try {
      ipv6MulticastScope(iface);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe('ERR_BAD_INTERFACE');
    expect((caught as UsageError).message).toMatch(message);
  });
});
