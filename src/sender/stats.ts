import type { LinkStats } from '../shared/link-stats.js';

/**
 * The sender's counters: plain objects and numbers, updated in place, read by anyone
 * (the metrics collector reads them in prom-client's collect()). Nothing here resets.
 */
export interface ChannelStats {
  id: number;
  name: string;
  /** The rate the channel is paced at (bits/s); Infinity when unpaced. */
  rateBitsPerSecond: number;
  /** Data chunks produced (each goes to every output). */
  chunks: number;
  /** Payload bytes produced. */
  bytes: number;
  /** Times a looped source started over. */
  loops: number;
  /** True once the channel's source has ended (or the sender stopped). */
  ended: boolean;
}

export interface OutputStats {
  url: string;
  proto: 'udp' | 'tcp' | 'srt' | 'rist' | 'rtp' | 'http';
  /** 'multicast' | 'unicast' | 'broadcast' for UDP and RTP, 'server' for TCP and HTTP, the SRT mode, 'simple' for RIST. */
  mode: string;
  /** Chunks (data, guide, end of stream) handed to the socket(s); TCP counts once per client. */
  chunks: number;
  /** Wire bytes (header + payload) handed to the socket(s). */
  bytes: number;
  /** Guide chunks sent (TCP: once per client). */
  guides: number;
  /** Sends that failed (UDP: EAGAIN, ENOBUFS, ECONNREFUSED...; TCP: a client's socket error). */
  sendErrors: number;
  /** sendErrors by errno code. */
  errorsByCode: Record<string, number>;
  /** UDP: datagrams handed to the kernel and not yet confirmed. */
  inflight: number;
  /** TCP: clients connected right now. */
  clients: number;
  /** TCP: clients accepted since start. */
  clientsAccepted: number;
  /** TCP: clients dropped for falling behind (send buffer over the bound, or stalled). */
  clientsDropped: number;
  /** TCP: connections refused because --max-clients were already served. */
  clientsRefused: number;
  /** TCP: clients that went away by themselves (closed, reset). */
  clientsClosed: number;
  /** TCP: bytes clients sent us, read and discarded. */
  bytesDiscarded: number;
  /** relay: chunks this output missed because it was full while the input could not wait
   *  (UDP, SRT, RIST in); a sender waits instead, so it stays 0 there. */
  droppedFull: number;
}

export interface SenderStats {
  /** Wall clock at start, ms since the Unix epoch. */
  startedAt: number;
  channels: ChannelStats[];
  outputs: OutputStats[];
  /** Guide rounds sent (each goes to every output). */
  guides: number;
  /** SRT and RIST connections, as their libraries count them. */
  links?: LinkStats[];
}

export function newOutputStats(url: string, proto: OutputStats['proto'], mode: string): OutputStats {
  return {
    url,
    proto,
    mode,
    chunks: 0,
    bytes: 0,
    guides: 0,
    sendErrors: 0,
    errorsByCode: {},
    inflight: 0,
    clients: 0,
    clientsAccepted: 0,
    clientsDropped: 0,
    clientsRefused: 0,
    clientsClosed: 0,
    bytesDiscarded: 0,
    droppedFull: 0,
  };
}

export function countError(s: OutputStats, err: unknown): void {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  s.sendErrors++;
  s.errorsByCode[code] = (s.errorsByCode[code] ?? 0) + 1;
}
