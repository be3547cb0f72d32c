/**
 * Opens recv's input for any URL: UDP (the native relay path, or node:dgram and JS, with
 * acknowledgements for --flow ack), TCP (a byte stream to frame), SRT and RIST (whole chunks
 * repaired by the library). The receiver gets the data through `sink`.
 */
import type { DecodeResult } from '../../shared/protocol.js';
import type { Endpoint } from '../../shared/url.js';
import { FlowAcker } from '../flow-acker.js';
import { rtpDatagramHandler, type RtpSink } from '../../rtp/rtp-input.js';
import { openRepairInput, type MessageInput } from './repair-input.js';
import { openTcpInput, type TcpInput } from './tcp-input.js';
import { openUdpInput, relayPath, type UdpInput } from './udp-input.js';

export interface InputSink {
  datagram(buf: Buffer, decoded?: DecodeResult): void;
  tcpData(buf: Buffer): void;
  /** A connection (re)made (TCP, SRT): may be a restarted sender, sequence numbers start over. */
  newConnection(): void;
  /** A live connection ended ('no connection': an attempt failed, already reported). */
  connectionEnded(why: string): void;
  log(message: string): void;
}

export interface OpenedInput {
  udp?: UdpInput;
  tcp?: TcpInput;
  repair?: MessageInput;
  acker?: FlowAcker;
  /** UDP in ipcast format: chunks take the native relay (it reads udp.fd). */
  native: boolean;
}

export interface InputOptions {
  format: 'ipcast' | 'raw';
  flowAck?: boolean;
  /** --http taps every chunk: the JS path. */
  tapped?: boolean;
  /** RTP in (rtp://): where rtpDatagramHandler puts chunks and counts (the JS path). */
  rtp?: RtpSink;
}

export async function openReceiverInput(ep: Endpoint, o: InputOptions, sink: InputSink): Promise<OpenedInput> {
  if (ep.proto === 'udp') {
    const native = relayPath(ep, o.format) === 'native' && !o.flowAck && !o.tapped;
    const rtp = ep.rtp && o.rtp ? rtpDatagramHandler(o.rtp) : undefined;
    const acker = o.flowAck ? new FlowAcker() : undefined;
    const udp = await openUdpInput(
      ep,
      {
        datagram: (buf, from, decoded, fromPort) => {
          if (rtp) return rtp(buf);
          sink.datagram(buf, decoded);
          acker?.onDatagram(buf, from, fromPort);
        },
        warning: (m) => sink.log(m),
      },
      { decode: o.format === 'ipcast' && !o.flowAck && !rtp, relay: native, dgram: o.flowAck === true },
    );
    return { udp, native, ...(acker ? { acker } : {}) };
  }
  const connection = {
    connected: (peer?: string) => {
      if (peer !== undefined) sink.log(`${ep.proto}: ${peer} connected`);
      sink.newConnection();
    },
    disconnected: (why: string) => sink.connectionEnded(why),
    warning: (m: string) => sink.log(m),
  };
  if (ep.proto === 'tcp') return { tcp: openTcpInput(ep, { ...connection, data: (buf) => sink.tcpData(buf) }), native: false };
  return { repair: openRepairInput(ep, { ...connection, message: (buf) => sink.datagram(buf) }), native: false };
}

/** Closes whichever input was opened (and the acknowledger of --flow ack). */
export async function closeReceiverInput(input: Partial<OpenedInput>): Promise<void> {
  await Promise.all([input.udp?.close(), input.tcp?.close(), input.repair?.close()]);
  input.acker?.close();
}
