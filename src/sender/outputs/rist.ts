/**
 * A RIST output (librist, simple profile; native/repair/rist_binding.cc): one chunk = one RTP
 * packet to HOST:PORT (RTCP on PORT+1), retransmitted by librist on the receivers' NACKs;
 * a multicast group (rist://GROUP:PORT?iface=ADDR) serves every receiver that joins it.
 * There is no connection to wait for: librist starts sending at once, as udp:// does.
 */
import { RuntimeError } from '../../shared/errors.js';
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

  constructor(
    readonly endpoint: RistEndpoint,
    private readonly o: SrtOutputOptions,
  ) {
    this.stats = newOutputStats(endpoint.url, 'rist', endpoint.multicast ? 'multicast' : 'unicast');
    this.linkStats = newLinkStats('rist', endpoint.url, `${endpoint.host}:${endpoint.port}`, 'send');
  }

  async open(): Promise<void> {
    const { native } = loadRepairLibrary('rist');
    try {
      this.link = new native.RistLink(ristNativeOptions(this.endpoint, 1000), (type, _data, extra) => {
        if (type === 'stats') applyRistStats(this.linkStats, String(extra));
      });
    } catch (err) {
      throw new RuntimeError(`rist ${this.endpoint.url}: ${(err as Error).message}`, 'ERR_RIST');
    }
    this.o.links.push(this.linkStats);
  }

  send(buf: Buffer, guide = false): void {
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
