/** Is `addr` an address of one of this machine's interfaces? (IPv6 compared case-insensitively.) */
import { networkInterfaces } from 'node:os';

export function isLocalAddress(addr: string): boolean {
  const want = addr.toLowerCase();
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address.toLowerCase() === want));
}
