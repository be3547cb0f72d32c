/**
 * SRT and RIST inputs (libsrt, librist): whole messages in order, each one chunk (or a bare
 * payload in raw format), repaired by the library within its latency budget; what it could
 * not repair in time never arrives (a gap in the sequence numbers, and the library's own
 * count of it in `links`).
 *
 * - srt://@:PORT (listener): serves one caller at a time (two senders would mix their
 *   streams); another caller is refused while one is connected.
 * - srt://HOST:PORT (caller), rendezvous: connects, and reconnects with backoff (as tcp://).
 * - rist://@:PORT, rist://@GROUP:PORT?iface=ADDR: receives from whoever sends.
 */
import { applyRistStats, applySrtStats, newLinkStats, type LinkStats } from '../../shared/link-stats.js';
import { RuntimeError } from '../../shared/errors.js';
import type { NativeRistLink, NativeSrtLink } from '../../shared/native.js';
import { loadRepairLibrary } from '../../shared/repair-libs.js';
import { ristNativeOptions, type RistEndpoint, type SrtEndpoint } from '../../shared/repair-url.js';
import { SRT_FEC_MAX_MESSAGE, SRT_MAX_MESSAGE } from '../../sender/outputs/repair.js';
import { srtNativeOptions } from '../../sender/outputs/srt.js';

export interface MessageInputHandlers {
  /** A sender is connected (SRT): the stream may start over. */
  connected(peer: string): void;
  message(buf: Buffer): void;
  disconnected(why: string): void;
  warning(message: string): void;
}

export interface MessageInput {
  /** The bound port (SRT listener), if any. */
  readonly port: number | undefined;
  /** The library's statistics of the connection(s). */
  readonly links: LinkStats[];
  close(): Promise<void>;
}

const STATS_EVERY_MS = 1000;
const BACKOFF_START_MS = 200;
const BACKOFF_MAX_MS = 5000;

function split(data: Buffer, lengths: Uint32Array, each: (b: Buffer) => void): void {
  let at = 0;
  for (const n of lengths) {
    each(data.subarray(at, at + n));
    at += n;
  }
}

export function openSrtInput(ep: SrtEndpoint, h: MessageInputHandlers): MessageInput {
  const { native } = loadRepairLibrary('srt');
  const links: LinkStats[] = [];
  let link: NativeSrtLink | undefined;
  let current: { id: number; stats: LinkStats } | undefined;
  let closed = false;
  let backoff = BACKOFF_START_MS;
  let retry: NodeJS.Timeout | undefined;
  let lastError = '';

  const refresh = (): void => {
    if (!current || !link) return;
    const s = link.stats(current.id);
    if (s) applySrtStats(current.stats, s);
  };
  const reconnect = (): void => {
    if (closed || ep.mode === 'listener' || retry) return;
    const old = link;
    retry = setTimeout(() => {
      retry = undefined;
      void old?.stop();
      if (!closed) link = start();
    }, backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  };
  const start = (): NativeSrtLink => {
    try {
      // libsrt's FEC filter sizes its rebuild buffers by the receiver's own payloadsize: the
      // largest a sender may use (a 1348-byte chunk against the default 1316 corrupts its heap).
      return new native.SrtLink(srtNativeOptions(ep, ep.packetFilter ? SRT_FEC_MAX_MESSAGE : SRT_MAX_MESSAGE), (type, id, data, extra) => {
        if (type === 'connected') {
          if (current) {
            h.warning(`srt ${ep.url}: refused ${String(extra)}: a sender is already connected`);
            link?.closeConnection(id);
            return;
          }
          lastError = '';
          current = { id, stats: newLinkStats('srt', ep.url, String(extra), 'recv') };
          links.splice(0, links.length, current.stats);
          h.connected(String(extra));
        } else if (type === 'data') {
          if (current?.id !== id) return;
          backoff = BACKOFF_START_MS;
          split(data!, extra as Uint32Array, h.message);
        } else if (type === 'closed') {
          if (current?.id !== id) return;
          refresh();
          current.stats.up = false;
          current = undefined;
          h.disconnected(String(extra));
          reconnect();
        } else if (type === 'error') {
          const why = String(extra);
          if (why !== lastError) h.warning(`srt ${ep.url}: ${why}; retrying`);
          lastError = why;
          reconnect();
        }
      });
    } catch (err) {
      throw new RuntimeError(`srt ${ep.url}: ${(err as Error).message}`, 'ERR_SRT');
    }
  };
  link = start();
  const timer = setInterval(refresh, STATS_EVERY_MS);
  timer.unref();
  return {
    get port() {
      return ep.mode === 'listener' ? link?.port : undefined;
    },
    links,
    close: async () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(timer);
      refresh();
      await link?.stop();
    },
  };
}

export function openRistInput(ep: RistEndpoint, h: MessageInputHandlers): MessageInput {
  const { native } = loadRepairLibrary('rist');
  const stats = newLinkStats('rist', ep.url, '', 'recv');
  const options = ristNativeOptions(ep, STATS_EVERY_MS); // a usage error stays one
  let link: NativeRistLink;
  try {
    link = new native.RistLink(options, (type, data, extra) => {
      if (type === 'data') split(data!, extra as Uint32Array, h.message);
      else if (type === 'stats') applyRistStats(stats, String(extra));
    });
  } catch (err) {
    throw new RuntimeError(`rist ${ep.url}: ${(err as Error).message}`, 'ERR_RIST');
  }
  return {
    port: ep.port,
    links: [stats],
    close: async () => {
      await link.stop();
      stats.up = false;
    },
  };
}

export function openRepairInput(ep: SrtEndpoint | RistEndpoint, h: MessageInputHandlers): MessageInput {
  return ep.proto === 'srt' ? openSrtInput(ep, h) : openRistInput(ep, h);
}
