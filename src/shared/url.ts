/**
 * Endpoint URLs, written the way ffmpeg and udpxy users already write them.
 *
 * Sender (`ipcast send --to`):
 *   udp://GROUP:PORT?ttl=N&iface=ADDR&loop=0|1   multicast (GROUP in 224.0.0.0/4 or ff00::/8)
 *   udp://HOST:PORT                              unicast
 *   udp://HOST:PORT?broadcast=1                  broadcast (SO_BROADCAST)
 *   tcp://ADDR:PORT                              listen and serve many receivers
 *   rtp://GROUP:PORT?iface=ADDR, rtp://HOST:PORT  RTP (src/rtp/): a UDP endpoint with `rtp` set
 * Receiver (`ipcast recv`, `ipcast guide`):
 *   udp://@GROUP:PORT?iface=ADDR[&source=ADDR][&rcvbuf=BYTES]   join a group on an interface
 *   udp://@:PORT, udp://@ADDR:PORT [?rcvbuf=BYTES]             bind unicast
 *   tcp://HOST:PORT                                            connect (reconnects with backoff)
 * srt:// and rist:// (send and recv): src/shared/repair-url.ts.
 *   rtp://@GROUP:PORT?iface=ADDR, rtp://@:PORT                  RTP in, as udp:// (same parameters)
 * IPv6 addresses go in brackets: udp://[::1]:5004. An IPv6 group names its interface by name
 * or by one of its addresses (udp://[ff15::1]:5004?iface=eth0, udp://@[ff3e::1]:5004?iface=fd00::2
 * &source=fd00::9): IPv6 multicast picks an interface by index, never by address, so an address
 * is looked up among this machine's interfaces (src/shared/local-address.ts).
 */
import { isIP } from 'node:net';

import { UsageError } from './errors.js';
import { splitUrl } from './url-parts.js';
import { parseRepairEndpoint, type RistEndpoint, type SrtEndpoint } from './repair-url.js';

export type { RistEndpoint, SrtEndpoint } from './repair-url.js';

export type Role = 'send' | 'recv';

export interface UdpEndpoint {
  proto: 'udp';
  mode: 'multicast' | 'unicast' | 'broadcast';
  /** Destination (send) or local bind address (recv; '' = any). For multicast: the group. */
  host: string;
  port: number;
  family: 4 | 6;
  /**
   * Multicast: the interface to send from / join on: an address of the group's family; for an
   * IPv6 group also an interface name.
   */
  iface?: string;
  /** Multicast TTL (send); defaults to 1 so nothing leaves the local network by accident. */
  ttl: number;
  /** Multicast loopback (send); defaults to on. */
  loop: boolean;
  /** Source-specific multicast (recv). */
  source?: string;
  /** SO_RCVBUF to ask for (recv). */
  rcvbuf?: number;
  /** rtp://: every datagram is an RTP packet (src/rtp/). */
  rtp?: boolean;
  url: string;
}

export interface TcpEndpoint {
  proto: 'tcp';
  host: string;
  port: number;
  family: 4 | 6;
  url: string;
}

export type Endpoint = UdpEndpoint | TcpEndpoint | SrtEndpoint | RistEndpoint;

const SEND_UDP_PARAMS = new Set(['ttl', 'iface', 'loop', 'broadcast']);
const RECV_UDP_PARAMS = new Set(['iface', 'source', 'rcvbuf']);
/** A Linux interface name (IFNAMSIZ - 1 characters, no '/', no blanks). */
const IFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

export function isMulticast(addr: string): boolean {
  if (isIP(addr) === 4) {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIP(addr) === 6 && /^ff/i.test(addr);
}

export function parseEndpoint(text: string, role: Role): Endpoint {
  const bad = (why: string): UsageError => new UsageError(`bad URL '${text}': ${why}`, 'ERR_BAD_URL');
  const m = /^([a-z]+):\/\/(.*)$/i.exec(text);
  if (!m) throw bad('expected udp://... or tcp://... (or rtp://...)');
  const given = m[1]!.toLowerCase();
  if (given === 'srt' || given === 'rist') return parseRepairEndpoint(text, given, m[2]!, role);
  if (given !== 'udp' && given !== 'tcp' && given !== 'rtp') throw bad(`unsupported scheme '${given}' (use udp, tcp, rtp, srt or rist)`);
  // rtp:// is udp:// with RTP packets: the same addresses and parameters.
  const scheme = given === 'rtp' ? 'udp' : given;
  const { at, host, port, params } = splitUrl(m[2]!, bad);
  if (at && (scheme === 'tcp' || role === 'send')) throw bad("'@' (listen on) is only for udp:// in ipcast recv (rtp:// too)");
  if (!at && scheme === 'udp' && role === 'recv') throw bad(`a receiving ${given} URL starts with '@': ${given}://@GROUP:PORT or ${given}://@:PORT`);

  if (host !== '' && !isIP(host) && host !== 'localhost') throw bad(`'${host}' is not an IP address`);
  if (host === '' && !(at || (scheme === 'tcp' && role === 'send'))) throw bad('missing host');
  const resolved = host === 'localhost' ? '127.0.0.1' : host;
  const family: 4 | 6 = isIP(resolved) === 6 ? 6 : 4;

  if (scheme === 'tcp') {
    if (params.size > 0) throw bad(`tcp URLs take no parameters, got '${[...params.keys()].join("', '")}'`);
    return { proto: 'tcp', host: resolved || (family === 6 ? '::' : '0.0.0.0'), port, family, url: text };
  }

  const allowed = role === 'send' ? SEND_UDP_PARAMS : RECV_UDP_PARAMS;
  for (const k of params.keys()) {
    if (!allowed.has(k)) throw bad(`unknown parameter '${k}' (allowed here: ${[...allowed].join(', ')})`);
  }
  const iface = params.get('iface');
  if (iface !== undefined && !isIP(iface)) {
    if (family === 4 || !IFACE_NAME.test(iface)) {
      throw bad(`iface must be an interface address${family === 6 ? ' or name' : ''}, got '${iface}'`);
    }
  } else if (iface !== undefined && isIP(iface) !== family) {
    throw bad(`iface ${iface} is not of the group's address family (IPv${family})`);
  }
  const source = params.get('source');
  if (source !== undefined && !isIP(source)) throw bad(`source must be an IP address, got '${source}'`);
  const ttl = params.has('ttl') ? intParam(params.get('ttl')!, 'ttl', 0, 255, bad) : 1;
  const loop = params.has('loop') ? boolParam(params.get('loop')!, 'loop', bad) : true;
  const rcvbuf = params.has('rcvbuf') ? intParam(params.get('rcvbuf')!, 'rcvbuf', 1, 2 ** 31 - 1, bad) : undefined;
  const broadcast = params.has('broadcast') ? boolParam(params.get('broadcast')!, 'broadcast', bad) : false;

  const multicast = resolved !== '' && isMulticast(resolved);
  if (multicast && !iface) {
    throw bad('a multicast URL must name its interface: add ?iface=ADDR (for example iface=127.0.0.1)');
  }
  if (!multicast && (params.has('ttl') || params.has('loop') || iface !== undefined)) {
    throw bad(`ttl, loop and iface apply to a multicast group; ${resolved || 'this address'} is not one`);
  }
  if (source !== undefined && !multicast) throw bad('source applies to a multicast group');
  if (source !== undefined && isIP(source) !== family) throw bad(`source ${source} is not of the group's address family (IPv${family})`);
  if (broadcast && multicast) throw bad('broadcast and a multicast group do not mix');

  const ep: UdpEndpoint = {
    proto: 'udp',
    mode: multicast ? 'multicast' : broadcast || resolved === '255.255.255.255' ? 'broadcast' : 'unicast',
    host: resolved,
    port,
    family,
    ttl,
    loop,
    url: text,
  };
  if (iface !== undefined) ep.iface = iface;
  if (source !== undefined) ep.source = source;
  if (rcvbuf !== undefined) ep.rcvbuf = rcvbuf;
  if (given === 'rtp') ep.rtp = true;
  return ep;
}

function intParam(v: string, name: string, min: number, max: number, bad: (w: string) => UsageError): number {
  if (!/^\d+$/.test(v)) throw bad(`${name} must be a whole number, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw bad(`${name} must be ${min}..${max}, got ${n}`);
  return n;
}

function boolParam(v: string, name: string, bad: (w: string) => UsageError): boolean {
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw bad(`${name} must be 0 or 1, got '${v}'`);
}
