/**
 * srt:// and rist:// URLs (loss repair through libsrt and librist; docs/repair.md), written the
 * way ffmpeg, srt-live-transmit and ristsender users write them:
 *
 *   srt://HOST:PORT[?...]                 caller: connects to HOST:PORT (send and recv)
 *   srt://@:PORT, srt://@ADDR:PORT        listener: binds and serves callers (send and recv)
 *   srt://ADDR:PORT?mode=listener         listener on ADDR (ffmpeg's spelling)
 *   srt://HOST:PORT?mode=rendezvous       rendezvous with HOST:PORT, bound to the same port here
 *     parameters: mode=caller|listener|rendezvous, latency=MS (receiver buffer; ffmpeg's
 *     latency is in microseconds, ours in milliseconds as srt-live-transmit's), passphrase=
 *     (10..79 characters; AES), pbkeylen=16|24|32, packetfilter=fec,cols:C,rows:R[,arq:never|
 *     onreq|always][,layout:even|staircase], streamid=, conntimeo=MS, localport= (rendezvous)
 *
 *   rist://HOST:PORT[?buffer=MS]          send (simple profile: RTP on PORT, RTCP on PORT+1)
 *   rist://GROUP:PORT?iface=ADDR[&ttl=N]  send to an IPv4 group, leaving by the interface ADDR
 *   rist://@:PORT, rist://@ADDR:PORT      receive (NACKs go back to the sender)
 *   rist://@GROUP:PORT?iface=ADDR         join an IPv4 group on the interface ADDR (NACKs go
 *                                         back to the sender's own address)
 *     PORT is even (RTCP takes PORT+1). buffer=MS: the recovery buffer (librist's default 1000).
 *     A group always names its interface: ipcast pins librist's sockets to it (librist 0.2.7
 *     would follow the default route; native/repair/multicast_pin.h). IPv6 groups are refused:
 *     librist 0.2.7 joins IPv4 groups only.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

import { UsageError } from './errors.js';
import { isMulticast, type Role } from './url.js';
import { splitUrl } from './url-parts.js';

export interface SrtEndpoint {
  proto: 'srt';
  mode: 'caller' | 'listener' | 'rendezvous';
  /** The peer (caller, rendezvous) or the address to bind ('' = any; listener). */
  host: string;
  port: number;
  family: 4 | 6;
  /** Rendezvous: the local port (default: the same as the peer's). */
  localPort?: number;
  latencyMs?: number;
  passphrase?: string;
  pbkeylen?: 16 | 24 | 32;
  packetFilter?: string;
  streamId?: string;
  connectTimeoutMs?: number;
  url: string;
}

export interface RistEndpoint {
  proto: 'rist';
  /** recv: bind (and join, for a group); send: the destination. */
  listen: boolean;
  host: string;
  port: number;
  family: 4 | 6;
  multicast: boolean;
  /** A group: the IPv4 address of the interface (required). */
  iface?: string;
  /** A group: IP_MULTICAST_TTL of what ipcast sends (default 1). */
  ttl?: number;
  bufferMs?: number;
  url: string;
}

const SRT_PARAMS = new Set(['mode', 'latency', 'passphrase', 'pbkeylen', 'packetfilter', 'streamid', 'conntimeo', 'localport']);
const RIST_PARAMS = new Set(['iface', 'ttl', 'buffer']);

/** `rest` is what follows "scheme://", query included. */
export function parseRepairEndpoint(text: string, scheme: 'srt' | 'rist', rest: string, role: Role): SrtEndpoint | RistEndpoint {
  const bad = (why: string): UsageError => new UsageError(`bad URL '${text}': ${why}`, 'ERR_BAD_URL');
  const { at, host: host0, port, params } = splitUrl(rest, bad);
  const host = host0 === 'localhost' ? '127.0.0.1' : host0;
  if (host !== '' && !isIP(host)) throw bad(`'${host0}' is not an IP address`);
  const family: 4 | 6 = isIP(host) === 6 ? 6 : 4;
  const allowed = scheme === 'srt' ? SRT_PARAMS : RIST_PARAMS;
  for (const k of params.keys()) {
    if (!allowed.has(k)) throw bad(`unknown parameter '${k}' (allowed here: ${[...allowed].join(', ')})`);
  }
  const int = (k: string, min: number, max: number): number | undefined => {
    const v = params.get(k);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw bad(`${k} must be a whole number ${min}..${max}, got '${v}'`);
    return Number(v);
  };
  return scheme === 'srt' ? srt() : rist();

  function srt(): SrtEndpoint {
    const m = params.get('mode') ?? (at ? 'listener' : 'caller');
    if (m !== 'caller' && m !== 'listener' && m !== 'rendezvous') throw bad(`mode must be caller, listener or rendezvous, got '${m}'`);
    if (at && m !== 'listener') throw bad(`'@' (listen on) and mode=${m} do not mix`);
    if (m !== 'listener' && host === '') throw bad(`a ${m} needs the peer's address: srt://HOST:PORT`);
    if (host !== '' && isMulticast(host)) throw bad('SRT is unicast: a multicast group is not a peer');
    const ep: SrtEndpoint = { proto: 'srt', mode: m, host, port, family, url: text };
    const latency = int('latency', 0, 60_000);
    if (latency !== undefined) ep.latencyMs = latency;
    const pass = params.get('passphrase');
    if (pass !== undefined) {
      if (pass.length < 10 || pass.length > 79) throw bad(`passphrase must be 10..79 characters, got ${pass.length}`);
      ep.passphrase = pass;
    }
    const keylen = int('pbkeylen', 0, 32);
    if (keylen !== undefined) {
      if (keylen !== 16 && keylen !== 24 && keylen !== 32) throw bad(`pbkeylen must be 16, 24 or 32, got ${keylen}`);
      if (pass === undefined) throw bad('pbkeylen needs a passphrase');
      ep.pbkeylen = keylen;
    }
    const filter = params.get('packetfilter');
    if (filter !== undefined) {
      if (!/^fec(,(cols|rows|arq|layout):[a-z0-9-]+)*$/.test(filter)) {
        throw bad(`packetfilter must read fec,cols:C,rows:R[,arq:never|onreq|always][,layout:even|staircase], got '${filter}'`);
      }
      ep.packetFilter = filter;
    }
    const sid = params.get('streamid');
    if (sid !== undefined) {
      if (sid.length > 512) throw bad('streamid is at most 512 characters');
      ep.streamId = sid;
    }
    const ct = int('conntimeo', 1, 600_000);
    if (ct !== undefined) ep.connectTimeoutMs = ct;
    const lp = int('localport', 1, 65535);
    if (lp !== undefined) {
      if (m !== 'rendezvous') throw bad('localport applies to mode=rendezvous');
      ep.localPort = lp;
    }
    void role;
    return ep;
  }

  function rist(): RistEndpoint {
    if (role === 'send' && at) throw bad("'@' (listen on) is for receiving: ipcast send takes rist://HOST:PORT");
    if (role === 'recv' && !at) throw bad("a receiving rist URL starts with '@': rist://@:PORT");
    if (role === 'send' && host === '') throw bad('missing host');
    if (port % 2 !== 0) throw bad(`RIST takes an even port (RTCP uses the next one), got ${port}`);
    const multicast = host !== '' && isMulticast(host);
    const iface = params.get('iface');
    if (multicast && family === 6) throw bad('RIST multicast is IPv4 only: librist 0.2.7 cannot join an IPv6 group');
    if (multicast && iface === undefined) throw bad('a multicast URL must name its interface: add ?iface=ADDR (for example iface=127.0.0.1)');
    if (!multicast && (iface !== undefined || params.has('ttl'))) throw bad(`iface and ttl apply to a multicast group; ${host || 'this address'} is not one`);
    if (iface !== undefined && isIP(iface) !== 4) throw bad(`iface must be the IPv4 address of an interface, got '${iface}'`);
    const ep: RistEndpoint = { proto: 'rist', listen: at, host, port, family, multicast, url: text };
    if (iface !== undefined) ep.iface = iface;
    const ttl = int('ttl', 0, 255);
    if (ttl !== undefined) {
      if (at) throw bad('ttl applies to sending (ipcast send --to rist://GROUP:PORT?iface=ADDR&ttl=N)');
      ep.ttl = ttl;
    }
    const buffer = int('buffer', 10, 60_000);
    if (buffer !== undefined) ep.bufferMs = buffer;
    return ep;
  }
}

/** The interface name that carries `addr` (librist names a multicast interface by name). */
export function interfaceNameOf(addr: string): string {
  const want = addr.toLowerCase();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (list?.some((a) => a.address.toLowerCase() === want)) return name;
  }
  throw new UsageError(`interface address ${addr} is not on this machine`, 'ERR_BAD_INTERFACE');
}

/** What native RistLink takes for an endpoint: librist's own URL (its parser does the rest:
 *  rist_parse_address2) and, for a group, the interface ipcast pins librist's sockets to. */
export interface RistNativeOptions {
  role: 'send' | 'recv';
  url: string;
  statsIntervalMs: number;
  multicastIface?: string;
  multicastTtl?: number;
}

export function ristNativeOptions(ep: RistEndpoint, statsIntervalMs: number): RistNativeOptions {
  const host = ep.family === 6 ? `[${ep.host || '::'}]` : ep.host || '0.0.0.0';
  const q: string[] = [];
  if (ep.bufferMs !== undefined) q.push(`buffer=${ep.bufferMs}`);
  // librist joins a group on an interface named by miface=; ipcast pins what it sends itself.
  const ifaceName = ep.iface === undefined ? undefined : interfaceNameOf(ep.iface);
  if (ep.listen && ifaceName !== undefined) q.push(`miface=${ifaceName}`);
  const o: RistNativeOptions = {
    role: ep.listen ? 'recv' : 'send',
    url: `rist://${ep.listen ? '@' : ''}${host}:${ep.port}${q.length ? `?${q.join('&')}` : ''}`,
    statsIntervalMs,
  };
  if (ep.multicast && ep.iface !== undefined) {
    o.multicastIface = ep.iface;
    o.multicastTtl = ep.ttl ?? 1;
  }
  return o;
}
