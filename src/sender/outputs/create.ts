/** The output a --to URL names, with what the sender tells it. */
import type { Endpoint } from '../../shared/url.js';
import type { LinkStats } from '../../shared/link-stats.js';
import type { Output } from './output.js';
import { repairOutput } from './repair.js';
import { TcpServerOutput } from './tcp-server.js';
import { AckedUdpOutput } from './udp-ack.js';
import { UdpOutput } from './udp.js';
import { RtpOutput } from '../../rtp/rtp-output.js';
import type { SdpFile } from '../../rtp/sdp.js';

export interface OutputContext {
  flow?: 'ack';
  maxClients?: number;
  tcpClientBufferBytes?: number;
  log?: (line: string) => void;
  /** Some channel is unpaced (--rate max): a TCP output paces by its fastest client. */
  unpaced: boolean;
  /** The largest chunk on the wire (header included). */
  maxMessageBytes: number;
  /** The latest guide chunk, for a client that connects. */
  guide: () => Buffer | null;
  onClients: () => void;
  /** SRT and RIST outputs add their connections here. */
  links: LinkStats[];
  /** RTP outputs: bare payload in RTP packets; the --sdp file they describe themselves in. */
  format: 'ipcast' | 'raw';
  sdp?: SdpFile;
}

export function createOutput(ep: Endpoint, c: OutputContext): Output {
  const log = c.log ? { log: c.log } : {};
  if (ep.proto === 'srt' || ep.proto === 'rist') {
    return repairOutput(ep, { maxMessageBytes: c.maxMessageBytes, guide: c.guide, onClients: c.onClients, links: c.links, format: c.format, ...log });
  }
  if (ep.proto === 'udp' && ep.rtp) return new RtpOutput(ep, { format: c.format, ...(c.sdp ? { sdp: c.sdp } : {}) });
  if (ep.proto === 'udp') return c.flow === 'ack' ? new AckedUdpOutput(ep) : new UdpOutput(ep);
  return new TcpServerOutput(ep, {
    ...(c.maxClients !== undefined ? { maxClients: c.maxClients } : {}),
    ...(c.tcpClientBufferBytes !== undefined ? { maxClientBufferBytes: c.tcpClientBufferBytes } : {}),
    paceByFastestClient: c.unpaced,
    guide: c.guide,
    onClients: c.onClients,
    ...log,
  });
}
