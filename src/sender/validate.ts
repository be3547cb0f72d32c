/**
 * The checks startSender() makes before it opens anything. Errors name the options the
 * library's way ({chunkBytes}); `ipcast send` says its flags instead (SEND_FLAGS, which
 * also names resolveSource's options).
 */
import { DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES, MAX_DATAGRAM_PAYLOAD_BYTES } from '../shared/protocol.js';
import { OptionError, UsageError } from '../shared/errors.js';
import type { Format, SenderOptions } from './sender.js';
import { validateFlowAck } from './outputs/udp-ack.js';
import { validateRepairOutputs } from './outputs/repair.js';

/** The flag of `ipcast send` that sets each option, for OptionError.withNames(). */
export const SEND_FLAGS: Record<string, string> = {
  outputs: '--to',
  channel: '--channel',
  name: '--name',
  format: '--format',
  rate: '--rate',
  chunkBytes: '--chunk',
  waitClients: '--wait-clients',
  maxClients: '--max-clients',
  http: '--http',
  sdpFile: '--sdp',
};

export function validateSenderOptions(o: SenderOptions, format: Format, chunkBytes: number): void {
  if (o.channels.length === 0) throw new UsageError('no channels to send', 'ERR_USAGE');
  if (o.outputs.length === 0 && !o.http) throw new OptionError('no outputs: give at least one {outputs} URL or {http}', 'ERR_USAGE');
  const ids = new Set<number>();
  for (const c of o.channels) {
    if (!Number.isInteger(c.id) || c.id < 1 || c.id > 65535) throw new UsageError(`channel id must be 1..65535, got ${c.id}`, 'ERR_USAGE');
    if (ids.has(c.id)) throw new UsageError(`channel ${c.id} given twice`, 'ERR_USAGE');
    ids.add(c.id);
  }
  if (format === 'raw' && o.channels.length > 1) {
    throw new OptionError(`{format} raw carries one channel; this source has ${o.channels.length}`, 'ERR_USAGE');
  }
  if (o.rate !== undefined && !(o.rate > 0)) throw new OptionError(`{rate} must be above zero, got ${o.rate}`, 'ERR_BAD_RATE');
  const frameMax = DEFAULT_MAX_FRAME_BYTES - HEADER_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > frameMax) {
    throw new OptionError(`{chunkBytes} must be 1..${frameMax}, got ${chunkBytes}`, 'ERR_BAD_NUMBER');
  }
  // A raw payload fills the datagram alone, unless an RTP header (12 bytes) goes in front of it.
  const rtpHeader = o.outputs.some((e) => e.proto === 'udp' && e.rtp) ? 12 : 0;
  const udpMax = format === 'raw' ? MAX_DATAGRAM_PAYLOAD_BYTES + HEADER_BYTES - rtpHeader : MAX_DATAGRAM_PAYLOAD_BYTES;
  if (chunkBytes > udpMax && o.outputs.some((e) => e.proto === 'udp')) {
    throw new OptionError(`{chunkBytes} ${chunkBytes} does not fit one UDP datagram: at most ${udpMax} bytes of payload`, 'ERR_BAD_NUMBER');
  }
  if (o.flow === 'ack') validateFlowAck(o.outputs, format);
  validateRepairOutputs(o.outputs, format === 'raw' ? chunkBytes : chunkBytes + HEADER_BYTES);
  const tcpCount = o.outputs.filter((e) => e.proto === 'tcp').length;
  const serving = tcpCount + o.outputs.filter((e) => e.proto === 'srt' && e.mode === 'listener').length;
  if ((o.waitClients ?? 0) > 0 && serving === 0 && !o.http) throw new OptionError('{waitClients} needs a tcp:// output, an srt:// listener or {http}', 'ERR_USAGE');
  if (o.sdpFile !== undefined && !o.outputs.some((e) => e.proto === 'udp' && e.rtp)) throw new OptionError('{sdpFile} needs an rtp:// output', 'ERR_USAGE');
  if (o.maxClients !== undefined && tcpCount === 0 && !o.http) throw new OptionError('{maxClients} needs a tcp:// output or {http}', 'ERR_USAGE');
  // --max-clients bounds each TCP output and the HTTP server; SRT listeners are not bounded.
  const bounded = serving === tcpCount ? o.maxClients : undefined;
  if (bounded !== undefined && o.waitClients !== undefined && o.waitClients > bounded * (tcpCount + (o.http ? 1 : 0))) {
    throw new OptionError(`{waitClients} ${o.waitClients} can never be reached with {maxClients} ${o.maxClients}`, 'ERR_USAGE');
  }
}
