/**
 * /udp/GROUP:PORT on recv and relay, as udpxy serves it: the first client joins the group, the
 * last one leaving leaves it (stream-server.ts calls close()). The interface is the request's
 * `?iface=ADDR`, else the one of the command's own input URL, else 127.0.0.1: a group is never
 * joined without naming an interface. What goes to the clients is each datagram as it came
 * (MPEG-TS from ffmpeg, VLC, an IPTV head end); a stream in ipcast format is unpacked: the
 * payloads of its data chunks, of the first channel seen.
 */
import { decodeChunk, Kind, MAGIC } from '../shared/protocol.js';
import { isMulticast, parseEndpoint, type UdpEndpoint } from '../shared/url.js';
import { UsageError } from '../shared/errors.js';
import { openUdpInput } from '../receiver/inputs/udp-input.js';
import type { UdpOpener } from './stream-server.js';

export function udpFeedOpener(defaultIface: string | undefined, log: (line: string) => void): UdpOpener {
  return async (group, port, query, publish) => {
    if (!isMulticast(group)) throw new UsageError(`${group} is not a multicast group`);
    const iface = query.get('iface') ?? defaultIface ?? '127.0.0.1';
    const ep = parseEndpoint(`udp://@${group}:${port}?iface=${encodeURIComponent(iface)}`, 'recv') as UdpEndpoint;
    let channel = -1;
    const input = await openUdpInput(ep, {
      datagram: (buf) => {
        const r = buf.length >= 4 && buf.readUInt32BE(0) === MAGIC ? decodeChunk(buf) : undefined;
        if (!r) return publish(Buffer.from(buf)); // the input may reuse the memory: a copy
        if (!r.ok || r.chunk.kind !== Kind.Data) return;
        if (channel < 0) channel = r.chunk.channel;
        if (r.chunk.channel === channel) publish(Buffer.from(r.chunk.payload));
      },
      warning: (m) => log(`/udp/${group}:${port}: ${m}`),
    });
    log(`/udp/${group}:${port}: joined on ${iface}`);
    return {
      close: async () => {
        await input.close();
        log(`/udp/${group}:${port}: left`);
      },
    };
  };
}
