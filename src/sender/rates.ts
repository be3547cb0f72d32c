/**
 * Before a sender starts: each channel's rate (given, or measured from the source and said in
 * one line), and the guide that lists the channels with those rates.
 */
import { encodeGuide, type ChannelInfo } from '../shared/guide.js';
import { OptionError, UsageError } from '../shared/errors.js';
import { HEADER_BYTES, MAX_DATAGRAM_PAYLOAD_BYTES } from '../shared/protocol.js';
import type { Endpoint } from '../shared/url.js';
import { formatRate } from './bitrate.js';
import { repairPayloadLimit } from './outputs/repair.js';
import type { ChannelSource } from './sources.js';

/** Each channel's rate in bits/s: `rate` for all, or measured (with the line that says so). */
export async function chooseRates(channels: ChannelSource[], rate: number | undefined): Promise<{ channel: ChannelSource; rate: number; line?: string }[]> {
  const out: { channel: ChannelSource; rate: number; line?: string }[] = [];
  for (const ch of channels) {
    if (rate !== undefined) {
      out.push({ channel: ch, rate });
      continue;
    }
    const m = await ch.measure();
    if (!m) {
      throw new OptionError(
        `cannot tell the bitrate of channel ${ch.id} '${ch.name}' (not WAV, MP3 or MPEG-TS with PCR): give {rate}, for example {rate} 320k or {rate} max`,
        'ERR_NO_RATE',
      );
    }
    out.push({ channel: ch, rate: m.bitsPerSecond, line: `channel ${ch.id} '${ch.name}': rate ${formatRate(m.bitsPerSecond)} (measured from the ${m.how})` });
  }
  return out;
}

/** The guide's payload; it must fit one packet of every datagram output. */
export function guidePayload(channels: ChannelSource[], rates: Map<number, number>, outputs: Endpoint[]): Buffer {
  const infos: ChannelInfo[] = channels.map((c) => {
    const r = rates.get(c.id)!;
    return { id: c.id, name: c.name, description: c.description, bitrate: r === Infinity ? 0 : r };
  });
  const payload = encodeGuide(infos);
  const limit = Math.min(...outputs.map((e) => (e.proto === 'udp' ? MAX_DATAGRAM_PAYLOAD_BYTES : e.proto === 'tcp' ? Infinity : repairPayloadLimit(e) - HEADER_BYTES)));
  if (payload.length > limit) {
    throw new UsageError(
      `the guide of ${infos.length} channels (${payload.length} bytes) does not fit one datagram; use fewer channels or shorter descriptions`,
      'ERR_GUIDE_TOO_LARGE',
    );
  }
  return payload;
}
