/**
 * A RIST output (librist, simple profile; native/repair/rist_binding.cc): one chunk = one RTP
 * packet to HOST:PORT (RTCP on PORT+1), retransmitted by librist on the receivers' NACKs;
 * a multicast group (rist://GROUP:PORT?iface=ADDR) serves every receiver that joins it.
 * There is no connection to wait for: librist starts sending at once, as udp:// does.
 *
 * librist's receiver (ipcast's, ffmpeg's, ristreceiver's) sets a new sender up with the first
 * RTP packet it gets from it and drops that packet (rist_peer_recv: a new peer's first packet
 * only creates the peer). So a flow starts with primers that cost nothing when lost:
 * - ipcast format: two heartbeat chunks (recv and relay ignore them), so that one lost on
 *   the way still leaves one for librist to eat;
 * - raw MPEG-TS: one TS null packet (a second one would reach the decoder: the stream would
 *   not be byte-exact any more);
 * - other raw payloads: none, and their first packet is lost to librist receivers.
 */
import { RuntimeError } from '../../shared/errors.js';
import { encodeChunk, Kind } from '../../shared/protocol.js';
import { applyRistStats, newLinkStats, type LinkStats } from '../../shared/link-stats.js';
import type { NativeRistLink } from '../../shared/native.js';
import { loadRepairLibrary } from '../../shared/repair-libs.js';
import { ristNativeOptions, type RistEndpoint } from '../../shared/repair-url.js';
import { countError, newOutputStats, type OutputStats } from '../stats.js';
import type { Output } from './output.js';
import type { SrtOutputOptions } from './srt.js';

/** At close, time for librist to answer the last NACKs before the context is destroyed. */
const CLOSE_GRACE_MS = 300;

export class RistOutput implements Output {
  readonly stats: OutputStats;
  private link: NativeRistLink | undefined;
  private readonly linkStats: LinkStats;
  private primed = false;

  constructor(
    readonly endpoint: RistEndpoint,
    private readonly o: SrtOutputOptions,
  ) {
    this.stats = newOutputStats(endpoint.url, 'rist', endpoint.multicast ? 'multicast' : 'unicast');
    this.linkStats = newLinkStats('rist', endpoint.url, `${endpoint.host}:${endpoint.port}`, 'send');
  }

  async open(): Promise<void> {
    const { native } = loadRepairLibrary('rist');
    const options = ristNativeOptions(this.endpoint, 1000); // a usage error stays one
    try {
      this.link = new native.RistLink(options, (type, _data, extra) => {
        if (type === 'stats') applyRistStats(this.linkStats, String(extra));
      });
    } catch (err) {
      throw new RuntimeError(`rist ${this.endpoint.url}: ${(err as Error).message}`, 'ERR_RIST');
    }
    this.o.links.push(this.linkStats);
  }

  send(buf: Buffer, guide = false): void {
    if (!this.primed) {
      this.primed = true;
      const primers = ristPrimers(buf, this.o.format ?? 'ipcast');
      if (primers.length > 0) this.link?.write(primers);
    }
    if (this.link?.write([buf]) === 1) {
      this.stats.chunks++;
      this.stats.bytes += buf.length;
      if (guide) this.stats.guides++;
    } else {
      countError(this.stats, { code: 'RIST_WRITE' });
    }
  }

  ready(): null {
    return null;
  }

  async close(final: Buffer[]): Promise<void> {
    for (const f of final) this.send(f);
    await new Promise((r) => setTimeout(r, CLOSE_GRACE_MS));
    this.linkStats.up = false;
    await this.link?.stop();
  }
}

const TS_PACKET = 188;

/** The packets to send ahead of `first` on a new flow (see the top of this file). */
export function ristPrimers(first: Buffer, format: 'ipcast' | 'raw'): Buffer[] {
  if (format === 'ipcast') {
    const heartbeat = encodeChunk({ kind: Kind.Heartbeat, channel: 1, sequence: 0, timestampUs: 0, flags: 0 });
    return [heartbeat, heartbeat];
  }
  if (first.length < TS_PACKET || first.length % TS_PACKET !== 0 || first[0] !== 0x47) return [];
  const nul = Buffer.alloc(TS_PACKET, 0xff);
  nul.writeUInt32BE(0x471fff10, 0); // sync, PID 0x1FFF, payload only, continuity 0
  return [nul];
}
