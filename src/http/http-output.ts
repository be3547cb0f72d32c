/**
 * The HTTP server as one of the sender's or the relay's outputs: it takes the same chunks as
 * every other output and hands each data chunk's bare payload to the clients of its channel
 * (/channel/N), an end of stream ends that channel's responses, a guide chunk is the channel
 * list of /playlist.m3u and /guide.json. In raw format a chunk is the payload of the one
 * channel (`rawChannel`). It never holds the stream: a slow client is dropped (stream-server.ts).
 */
import { decodeGuide, type ChannelInfo } from '../shared/guide.js';
import { GUIDE_CHANNEL, HEADER_BYTES, Kind, MAGIC } from '../shared/protocol.js';
import type { Output } from '../sender/outputs/output.js';
import { newOutputStats, type OutputStats } from '../sender/stats.js';
import { HttpStreamServer, type HttpServerOptions } from './stream-server.js';

export interface HttpOutputOptions extends Omit<HttpServerOptions, 'channels'> {
  format: 'ipcast' | 'raw';
  /** The channel of a raw stream. */
  rawChannel?: number;
  /** The channel list before (or without: raw format) a guide chunk. */
  channels?: () => ChannelInfo[];
}

export class HttpOutput implements Output {
  readonly stats: OutputStats;
  readonly server: HttpStreamServer;
  private guide: ChannelInfo[] | null = null;

  constructor(private readonly o: HttpOutputOptions) {
    this.server = new HttpStreamServer({
      ...o,
      channels: () => this.guide ?? o.channels?.() ?? [],
    });
    this.stats = newOutputStats(`http://${o.host}:${o.port}/`, 'http', 'server');
  }

  get clientCount(): number {
    return this.server.clientCount;
  }

  async open(): Promise<void> {
    await this.server.open();
    this.stats.url = this.server.stats.url;
  }

  send(buf: Buffer, _guide?: boolean): void {
    if (this.o.format === 'raw') {
      this.server.publish(this.o.rawChannel ?? 1, buf);
    } else if (buf.length >= HEADER_BYTES && buf.readUInt32BE(0) === MAGIC) {
      // Our own chunk (sender) or one already checked (relay): the header is trusted.
      const kind = buf[5];
      const channel = buf.readUInt16BE(6);
      const payload = buf.subarray(HEADER_BYTES);
      if (kind === Kind.Data) this.server.publish(channel, payload);
      else if (kind === Kind.EndOfStream) this.server.endChannel(channel);
      else if (kind === Kind.Guide && channel === GUIDE_CHANNEL) this.guide = decodeGuide(payload) ?? this.guide;
    }
    this.sync();
  }

  ready(): null {
    return null;
  }

  async close(final: Buffer[]): Promise<void> {
    for (const b of final) this.send(b);
    await this.server.close();
    this.sync();
  }

  /** The server's counts as an output's (the sender's metrics and summary read these). */
  private sync(): void {
    const h = this.server.stats;
    Object.assign(this.stats, {
      chunks: h.chunks,
      bytes: h.bytes,
      clients: h.clients,
      clientsAccepted: h.clientsAccepted,
      clientsDropped: h.clientsDropped,
      clientsRefused: h.clientsRefused,
      clientsClosed: h.clientsClosed,
    });
  }
}

/** The sender's --http: its channels (and the rates chosen for them) before and without a guide. */
export async function openSenderHttp(
  listen: { host: string; port: number; maxClients?: number },
  format: 'ipcast' | 'raw',
  channels: readonly Omit<ChannelInfo, 'bitrate'>[],
  rateOf: (id: number) => number | undefined,
  onClients: () => void,
  log?: (line: string) => void,
): Promise<HttpOutput> {
  const finite = (r: number | undefined): number => (r === undefined || !Number.isFinite(r) ? 0 : r);
  const http = new HttpOutput({
    ...listen,
    format,
    rawChannel: channels[0]!.id,
    channels: () => channels.map((c) => ({ id: c.id, name: c.name, description: c.description, bitrate: finite(rateOf(c.id)) })),
    onClients,
    ...(log ? { log } : {}),
  });
  await http.open();
  return http;
}
