/**
 * `ipcast recv --http`: the HTTP server fed by the receiver's tap (src/receiver/receiver.ts):
 * the channel recv plays in sequence order after loss and reorder handling, every other
 * channel of the stream as its chunks arrive, /udp/GROUP:PORT joined on demand, and the guide
 * (or, before one, the channel being played) for /playlist.m3u and /guide.json.
 */
import type { ReceiverStats } from '../receiver/stats.js';
import type { Endpoint } from '../shared/url.js';
import { HttpStreamServer } from './stream-server.js';
import { udpFeedOpener } from './udp-feed.js';

export interface ReceiverHttp {
  server: HttpStreamServer;
  tap: { data(channel: number, payload: Buffer): void; end(channel: number): void };
}

export async function openReceiverHttp(
  listen: { host: string; port: number; maxClients?: number },
  input: Endpoint,
  stats: ReceiverStats,
  log: (line: string) => void,
): Promise<ReceiverHttp> {
  const server = new HttpStreamServer({
    ...listen,
    anyChannel: true,
    channels: () =>
      stats.guide.length > 0 ? stats.guide : stats.channel > 0 ? [{ id: stats.channel, name: `channel ${stats.channel}`, description: '', bitrate: 0 }] : [],
    udp: udpFeedOpener(input.proto === 'udp' && input.mode === 'multicast' ? input.iface : undefined, (m) => log(`http ${m}`)),
    log,
  });
  await server.open();
  return {
    server,
    tap: {
      // A copy: the input may reuse the datagram's memory before the server writes it out.
      data: (channel, payload) => server.publish(channel, Buffer.from(payload)),
      end: (channel) => server.endChannel(channel),
    },
  };
}
