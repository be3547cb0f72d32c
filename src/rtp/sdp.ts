/**
 * The session description of ipcast's RTP outputs (RFC 8866), written by `--sdp FILE` for
 * players that open RTP through an SDP file (ffmpeg/ffplay -i FILE.sdp, VLC, GStreamer's
 * sdpdemux). One media section per rtp:// output:
 *
 *   m=video PORT RTP/AVP 33          + a=rtpmap:33 MP2T/90000        (MPEG-TS, RFC 2250)
 *   m=application PORT RTP/AVP 96    + a=rtpmap:96 X-IPCAST-RAW/90000 (anything else, bytes as they are)
 *   c=IN IP4 GROUP/TTL (multicast) or c=IN IP4 HOST (unicast); IP6 for IPv6: the first
 *   output's at session level (where ffmpeg reads it), another's in its media section
 *
 * The payload type is known once the first payload has gone out (content-type.ts), so the file
 * is written then, once every rtp:// output has sent its first payload; it is written to a
 * temporary name and renamed, so a reader never sees half of it.
 */
import { rename, writeFile } from 'node:fs/promises';
import { pid } from 'node:process';

import { PT_MP2T, RTP_CLOCK_HZ } from './packet.js';
import type { UdpEndpoint } from '../shared/url.js';

export interface SdpMedia {
  endpoint: UdpEndpoint;
  payloadType: number;
}

export function sessionDescription(media: readonly SdpMedia[], name: string, sessionId: number): string {
  const first = media[0]?.endpoint;
  const ipv = first?.family === 6 ? 'IP6' : 'IP4';
  const origin = first?.family === 6 ? '::1' : '127.0.0.1';
  const conn = (ep: UdpEndpoint): string =>
    `c=IN ${ep.family === 6 ? 'IP6' : 'IP4'} ${ep.mode === 'multicast' && ep.family === 4 ? `${ep.host}/${ep.ttl}` : ep.host}`;
  // The first output's connection at session level too: ffmpeg's SDP reader wants it there.
  const session = first ? conn(first) : undefined;
  const lines = ['v=0', `o=- ${sessionId} 1 IN ${ipv} ${origin}`, `s=${name.replace(/[\r\n]/g, ' ') || 'ipcast'}`];
  if (session) lines.push(session);
  lines.push('t=0 0');
  for (const m of media) {
    const ts = m.payloadType === PT_MP2T;
    lines.push(`m=${ts ? 'video' : 'application'} ${m.endpoint.port} RTP/AVP ${m.payloadType}`);
    if (conn(m.endpoint) !== session) lines.push(conn(m.endpoint));
    lines.push(`a=rtpmap:${m.payloadType} ${ts ? 'MP2T' : 'X-IPCAST-RAW'}/${RTP_CLOCK_HZ}`, 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Collects the payload type of each output and writes the file once all are known. */
export class SdpFile {
  private readonly media = new Map<UdpEndpoint, number | undefined>();
  private written = false;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly path: string,
    private readonly name: string,
    private readonly log?: (line: string) => void,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  add(endpoint: UdpEndpoint): void {
    this.media.set(endpoint, undefined);
  }

  setPayloadType(endpoint: UdpEndpoint, pt: number): void {
    this.media.set(endpoint, pt);
    if (this.written || [...this.media.values()].some((v) => v === undefined)) return;
    this.written = true;
    const text = sessionDescription(
      [...this.media].map(([e, p]) => ({ endpoint: e, payloadType: p! })),
      this.name,
      Math.floor(Date.now() / 1000),
    );
    const tmp = `${this.path}.${pid}.tmp`;
    writeFile(tmp, text)
      .then(() => rename(tmp, this.path))
      .catch((err: Error) => this.log?.(`--sdp ${this.path}: ${err.message}`))
      .finally(() => this.resolveDone());
  }
}
