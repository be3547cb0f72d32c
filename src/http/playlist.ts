/**
 * /playlist.m3u and /guide.json: the channel list as a player and as a program read it.
 *
 * The playlist is an extended M3U: one `#EXTINF:-1,NAME` line per channel (the guide's name,
 * with line breaks and commas taken out) followed by the channel's absolute URL, built from the
 * Host the client asked for (so the URL works from where the client is), else the listening
 * address.
 */
import type { ChannelInfo } from '../shared/guide.js';

export function baseUrl(hostHeader: string | undefined, listen: { host: string; port: number }): string {
  if (hostHeader && /^[A-Za-z0-9.\-[\]:]{1,255}$/.test(hostHeader)) return `http://${hostHeader}`;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

function clean(name: string): string {
  return name.replace(/[\r\n]+/g, ' ').replace(/,/g, ' ').trim();
}

export function playlist(channels: readonly ChannelInfo[], base: string): string {
  const lines = ['#EXTM3U'];
  for (const ch of channels) {
    lines.push(`#EXTINF:-1,${clean(ch.name) || `channel ${ch.id}`}`, `${base}/channel/${ch.id}`);
  }
  return `${lines.join('\n')}\n`;
}

export function guideJson(channels: readonly ChannelInfo[], base: string): string {
  return `${JSON.stringify(
    {
      channels: channels.map((c) => ({
        id: c.id,
        name: c.name,
        description: c.description,
        bitrate: c.bitrate,
        url: `${base}/channel/${c.id}`,
      })),
    },
    null,
    2,
  )}\n`;
}
