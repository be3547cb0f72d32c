/** This machine's interfaces: is an address one of theirs, and which interface an IPv6 group uses. */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

import { UsageError } from './errors.js';

/** Is `addr` an address of one of this machine's interfaces? (IPv6 compared case-insensitively.) */
export function isLocalAddress(addr: string): boolean {
  const want = addr.toLowerCase();
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address.toLowerCase() === want));
}

/**
 * The interface an IPv6 group is sent from or joined on, in the form node:dgram takes for
 * setMulticastInterface, addMembership and addSourceSpecificMembership: `::%NAME`. IPv6
 * multicast names its interface by index only (IPV6_MULTICAST_IF, ipv6mr_interface): an
 * address without a scope would mean "index 0", the routing table's choice, so `iface` (a
 * name, or an address of this machine) is always turned into the interface's name here.
 */
export function ipv6MulticastScope(iface: string): string {
  const all = networkInterfaces();
  if (isIP(iface) === 6) {
    const want = iface.toLowerCase();
    const name = Object.entries(all).find(([, list]) => list?.some((a) => a.family === 'IPv6' && a.address.toLowerCase() === want))?.[0];
    if (name === undefined) throw new UsageError(`interface address ${iface} is not on this machine`, 'ERR_BAD_INTERFACE');
    return `::%${name}`;
  }
  // networkInterfaces() lists only interfaces with an address; a group needs an IPv6-capable one.
  if (!all[iface]?.some((a) => a.family === 'IPv6')) {
    throw new UsageError(`interface ${iface} is not on this machine (or has no IPv6 address)`, 'ERR_BAD_INTERFACE');
  }
  return `::%${iface}`;
}
