/**
 * Waits for the first channel guide on a receiving URL and returns it (`ipcast guide`).
 */
import { decodeGuide, type ChannelInfo } from '../shared/guide.js';
import { ChunkFramer } from '../shared/framer.js';
import { RuntimeError } from '../shared/errors.js';
import { GUIDE_CHANNEL, Kind, decodeChunk, type Chunk } from '../shared/protocol.js';
import { openRistInput, openSrtInput } from './inputs/repair-input.js';
import type { Endpoint } from '../shared/url.js';
import { openTcpInput } from './inputs/tcp-input.js';
import { openUdpInput } from './inputs/udp-input.js';

export async function readGuide(ep: Endpoint, timeoutMs: number, log: (m: string) => void): Promise<ChannelInfo[]> {
  let resolveGuide!: (g: ChannelInfo[]) => void;
  const got = new Promise<ChannelInfo[]>((resolve) => (resolveGuide = resolve));
  const onChunk = (c: Chunk): void => {
    if (c.channel !== GUIDE_CHANNEL || c.kind !== Kind.Guide) return;
    const g = decodeGuide(c.payload);
    if (g) resolveGuide(g);
  };
  let close: () => Promise<void>;
  if (ep.proto === 'udp') {
    const input = await openUdpInput(ep, {
      datagram: (buf) => {
        const r = decodeChunk(buf);
        if (r.ok) onChunk(r.chunk);
      },
      warning: log,
    });
    close = () => input.close();
  } else if (ep.proto === 'srt' || ep.proto === 'rist') {
    const handlers = {
      connected: () => {},
      message: (buf: Buffer) => {
        const r = decodeChunk(buf);
        if (r.ok) onChunk(r.chunk);
      },
      disconnected: () => {},
      warning: log,
    };
    const input = ep.proto === 'srt' ? openSrtInput(ep, handlers) : openRistInput(ep, handlers);
    close = () => input.close();
  } else {
    let framer = new ChunkFramer({ chunk: onChunk, error: () => {} });
    const input = openTcpInput(ep, {
      connected: () => (framer = new ChunkFramer({ chunk: onChunk, error: () => {} })),
      data: (buf) => framer.push(buf),
      disconnected: () => {},
      warning: log,
    });
    close = () => input.close();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RuntimeError(`no channel guide arrived on ${ep.url} within ${timeoutMs / 1000} s`, 'ERR_NO_GUIDE')),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([got, timeout]);
  } finally {
    clearTimeout(timer);
    await close();
  }
}

/**
 * A name or description from the network, safe to print on a terminal: control characters
 * (C0, DEL, C1: escape sequences could clear the screen, retitle or remap the terminal) are
 * shown as \xHH instead of being sent as they are.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatGuide(channels: ChannelInfo[]): string {
  const rows = channels.map((c) => [String(c.id), printable(c.name), formatBitrate(c.bitrate), printable(c.description)]);
  const head = ['ID', 'NAME', 'BITRATE', 'DESCRIPTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatBitrate(bps: number): string {
  if (bps <= 0) return '?';
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(2)} Mbit/s`;
  return `${+(bps / 1e3).toFixed(1)} kbit/s`;
}
