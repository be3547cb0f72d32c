/**
 * Receives datagrams: joins a multicast group on a named interface (optionally source-specific)
 * or binds a unicast port. Asks for SO_RCVBUF when told and reports when the kernel gave less
 * (net.core.rmem_max). Exposes the kernel's drop counter for the socket (/proc/net/udp).
 *
 * Two implementations behind one interface:
 *  - native (IPv4, the default): native/udp_binding.cc reads with recvmmsg, up to 64 datagrams
 *    per call into JS, and with `decode` checks each ipcast header and CRC-32C in C, so a
 *    datagram costs JS only the views onto its bytes;
 *  - node:dgram (IPv6, or IPCAST_UDP=dgram in the environment): one 'message' event per
 *    datagram; the caller decodes.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { ipv6MulticastScope, isLocalAddress } from '../../shared/local-address.js';

import { RuntimeError, UsageError, describeSystemError } from '../../shared/errors.js';
import { settings } from '../../shared/settings.js';
import { loadNative, UDP_META_STRIDE, type NativeUdpSocket } from '../../shared/native.js';
import { DECODE_REASONS, HEADER_BYTES, type DecodeResult, type Kind } from '../../shared/protocol.js';
import type { UdpEndpoint } from '../../shared/url.js';

export const DEFAULT_RCVBUF_BYTES = 4 * 1024 * 1024;
/**
 * An explicit ?rcvbuf= up to this size is granted past net.core.rmem_max when the process has
 * CAP_NET_ADMIN (SO_RCVBUFFORCE); larger requests are taken as a mistake and only asked for.
 */
export const FORCE_RCVBUF_MAX_BYTES = 256 * 1024 * 1024;

export interface UdpInput {
  readonly port: number;
  /** 'native' (recvmmsg in the addon) or 'dgram' (node:dgram). */
  readonly impl: 'native' | 'dgram';
  /** The socket's descriptor when opened with `relay` (the native relay reads it). */
  readonly fd?: number;
  /** The kernel's count of datagrams dropped on this socket (receive buffer full). */
  kernelDrops(): number;
  close(): Promise<void>;
}

export interface UdpInputHandlers {
  /**
   * One datagram. `decoded` is given when the input has already decoded and checked it (the
   * native input asked to decode): the caller must not decode again. `from` is the sender's
   * address with node:dgram, '' with the native input; `fromPort` its port (node:dgram only).
   */
  datagram(buf: Buffer, from: string, decoded?: DecodeResult, fromPort?: number): void;
  warning(message: string): void;
}

export interface UdpInputOptions {
  /** Decode every datagram as an ipcast chunk before datagram() (native input only). */
  decode?: boolean;
  /** Open and join only: the native relay (src/receiver/native-path.ts) will read the socket. */
  relay?: boolean;
  /** node:dgram even for IPv4 (recv --flow ack answers each sender by its address and port). */
  dgram?: boolean;
}


/** Which implementation a URL gets: the native one for IPv4 unless the setting udp is 'dgram' (IPCAST_UDP=dgram). */
export function udpImpl(ep: UdpEndpoint): 'native' | 'dgram' {
  return ep.family === 4 && settings().udp === 'native' ? 'native' : 'dgram';
}

/**
 * Whether recv's chunks take the native relay path (no JS per chunk; docs/receiver.md):
 * ipcast chunks on the native UDP input, unless the setting relay (IPCAST_RELAY=js) asks for the JS path.
 */
export function relayPath(ep: UdpEndpoint, format: 'ipcast' | 'raw'): 'native' | 'js' {
  // RTP in stays on the JS path: the native relay reads ipcast chunks only.
  return format === 'ipcast' && !ep.rtp && udpImpl(ep) === 'native' && settings().relay === 'native' ? 'native' : 'js';
}

export async function openUdpInput(ep: UdpEndpoint, handlers: UdpInputHandlers, opts: UdpInputOptions = {}): Promise<UdpInput> {
  if (ep.iface !== undefined && ep.family === 4 && !isLocalAddress(ep.iface)) {
    throw new UsageError(`interface address ${ep.iface} is not on this machine`, 'ERR_BAD_INTERFACE');
  }
  // An IPv6 group is joined on an interface index: `::%NAME` (throws when there is no such interface).
  const joinOn = ep.iface !== undefined && ep.family === 6 ? ipv6MulticastScope(ep.iface) : ep.iface;
  return udpImpl(ep) === 'native' && !opts.dgram ? openNativeInput(ep, handlers, opts.decode ?? false, opts.relay ?? false) : openDgramInput(ep, handlers, joinOn);
}

function openNativeInput(ep: UdpEndpoint, handlers: UdpInputHandlers, decode: boolean, relay: boolean): UdpInput {
  const { UdpSocket } = loadNative();
  let socket: NativeUdpSocket;
  try {
    // A group is received by binding its port on the group address (only its datagrams arrive;
    // SO_REUSEADDR so several receivers share it); a unicast URL binds the given address or any.
    socket = new UdpSocket(ep.host, ep.port, ep.mode === 'multicast');
  } catch (err) {
    throw new RuntimeError(`cannot listen on ${ep.url}: ${describeSystemError(err)}`, 'ERR_LISTEN', { cause: err });
  }
  try {
    if (ep.mode === 'multicast') socket.join(ep.host, ep.iface!, ep.source);
  } catch (err) {
    socket.close();
    throw new RuntimeError(`cannot join ${ep.host} on ${ep.iface}: ${describeSystemError(err)}`, 'ERR_JOIN', { cause: err });
  }
  const asked = ep.rcvbuf ?? DEFAULT_RCVBUF_BYTES;
  let stored = 0;
  try {
    // Only an explicit rcvbuf= (up to FORCE_RCVBUF_MAX) may go past rmem_max.
    stored = socket.setRecvBuffer(asked, ep.rcvbuf !== undefined && ep.rcvbuf <= FORCE_RCVBUF_MAX_BYTES);
  } catch (err) {
    handlers.warning(`could not set rcvbuf=${asked}: ${describeSystemError(err)}`);
  }
  warnIfLess(ep, Math.floor(stored / 2), handlers);

  if (!relay) socket.receive(
    decode,
    (data, meta, count) => {
      for (let i = 0, m = 0; i < count; i++, m += UDP_META_STRIDE) {
        const off = meta[m]!;
        const buf = data.subarray(off, off + meta[m + 1]!);
        if (!decode) {
          handlers.datagram(buf, '');
          continue;
        }
        const status = meta[m + 2]!;
        handlers.datagram(
          buf,
          '',
          status !== 0
            ? { ok: false, reason: DECODE_REASONS[status - 1] ?? 'bad_magic' }
            : {
                ok: true,
                chunk: {
                  kind: meta[m + 3]! as Kind,
                  channel: meta[m + 4]!,
                  sequence: meta[m + 5]!,
                  timestampUs: meta[m + 6]!,
                  flags: meta[m + 7]!,
                  checksum: meta[m + 8]!,
                  payload: buf.subarray(HEADER_BYTES),
                },
              },
        );
      }
    },
    (err) => handlers.warning(`udp socket: ${describeSystemError(err)}`),
  );

  const port = socket.port!;
  const inode = String(socket.inode);
  return {
    port,
    impl: 'native',
    ...(relay ? { fd: socket.fd! } : {}),
    kernelDrops: () => readUdpDrops(ep.family, port, inode),
    close: () => {
      socket.close();
      return Promise.resolve();
    },
  };
}

function warnIfLess(ep: UdpEndpoint, got: number, handlers: UdpInputHandlers): void {
  // Linux doubles the value it stores (bookkeeping overhead) and caps the request at rmem_max.
  if (ep.rcvbuf !== undefined && got < ep.rcvbuf) {
    handlers.warning(
      `receive buffer: asked ${ep.rcvbuf} bytes, the kernel gave ${got} (raise net.core.rmem_max, or run with CAP_NET_ADMIN, to get more)`,
    );
  }
}

async function openDgramInput(ep: UdpEndpoint, handlers: UdpInputHandlers, joinOn: string | undefined): Promise<UdpInput> {
  const socket = dgram.createSocket({ type: ep.family === 6 ? 'udp6' : 'udp4', reuseAddr: ep.mode === 'multicast' });
  socket.on('message', (msg, rinfo) => handlers.datagram(msg, rinfo.address, undefined, rinfo.port));

  // Bind: a group is joined by binding its port on the group address (so only its datagrams
  // arrive), a unicast URL binds the given address or any.
  const bindAddress = ep.mode === 'multicast' ? ep.host : ep.host || undefined;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port: ep.port, ...(bindAddress ? { address: bindAddress } : {}), exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    socket.close();
    throw new RuntimeError(`cannot listen on ${ep.url}: ${describeSystemError(err)}`, 'ERR_LISTEN', { cause: err });
  });
  // After bind, a socket error must not crash the relay: report it and go on.
  socket.on('error', (err) => handlers.warning(`udp socket: ${describeSystemError(err)}`));

  try {
    if (ep.mode === 'multicast') {
      if (ep.source) socket.addSourceSpecificMembership(ep.source, ep.host, joinOn);
      else socket.addMembership(ep.host, joinOn);
    }
  } catch (err) {
    socket.close();
    throw new RuntimeError(`cannot join ${ep.host} on ${ep.iface}: ${describeSystemError(err)}`, 'ERR_JOIN', { cause: err });
  }

  // A live stream must survive the receiver being descheduled for a few tens of ms: ask for
  // DEFAULT_RCVBUF_BYTES unless told otherwise (the kernel caps it at net.core.rmem_max).
  const asked = ep.rcvbuf ?? DEFAULT_RCVBUF_BYTES;
  try {
    socket.setRecvBufferSize(asked);
  } catch (err) {
    handlers.warning(`could not set rcvbuf=${asked}: ${describeSystemError(err)}`);
  }
  if (ep.rcvbuf !== undefined) warnIfLess(ep, Math.floor(socket.getRecvBufferSize() / 2), handlers);

  const port = socket.address().port;
  const inode = socketInode(port, ep.family);
  return {
    port,
    impl: 'dgram',
    kernelDrops: () => readUdpDrops(ep.family, port, inode),
    close: () =>
      new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      }),
  };
}

function procFile(family: 4 | 6): string {
  return family === 6 ? '/proc/net/udp6' : '/proc/net/udp';
}

/** Lines of /proc/net/udp: "sl local rem st tx:rx tr:tm retr uid timeout inode ref pointer drops". */
function udpLines(family: 4 | 6, port: number): string[][] {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    return readFileSync(procFile(family), 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 13 && f[1]!.endsWith(`:${hexPort}`));
  } catch {
    return [];
  }
}

function socketInode(port: number, family: 4 | 6): string | undefined {
  const lines = udpLines(family, port);
  return lines.length === 1 ? lines[0]![9] : undefined;
}

function readUdpDrops(family: 4 | 6, port: number, inode: string | undefined): number {
  const lines = udpLines(family, port).filter((f) => inode === undefined || f[9] === inode);
  return lines.reduce((sum, f) => sum + (Number(f[12]) || 0), 0);
}
