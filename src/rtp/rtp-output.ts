/**
 * An RTP output (`rtp://GROUP:PORT?iface=ADDR`, `rtp://HOST:PORT`): the UDP output, each
 * datagram an RTP packet (packet.ts) around one chunk's bare payload.
 *
 *   payload type  33 (MP2T) when the first payload is MPEG-TS, else 96 (content-type.ts);
 *                 chosen once, from the first payload
 *   timestamp     90 kHz, from the chunk's sender timestamp: the pacing clock (ipcast format,
 *                 also through a relay: the origin's clock); the clock at send in raw format;
 *                 a random offset, as RFC 3550 asks
 *   sequence      +1 per packet, from a random start; SSRC random per output
 *
 * One channel per output: the first data chunk's channel (a multi-channel sender: the first
 * channel to send); other channels, guides and ends of stream are not sent (RTP has no place
 * for them; the stream simply stops).
 */
import { randomInt } from 'node:crypto';

import { sniffMediaType } from '../http/content-type.js';
import { HEADER_BYTES, Kind, MAGIC } from '../shared/protocol.js';
import type { UdpEndpoint } from '../shared/url.js';
import type { Output } from '../sender/outputs/output.js';
import { UdpOutput } from '../sender/outputs/udp.js';
import type { OutputStats } from '../sender/stats.js';
import { PT_DYNAMIC, PT_MP2T, RTP_CLOCK_HZ, RTP_HEADER_BYTES, writeRtpHeader } from './packet.js';
import type { SdpFile } from './sdp.js';

export interface RtpOutputOptions {
  format: 'ipcast' | 'raw';
  sdp?: SdpFile;
}

const TWO32 = 0x100000000;

export class RtpOutput implements Output {
  readonly stats: OutputStats;
  private readonly udp: UdpOutput;
  private channel = -1;
  private payloadType = -1;
  private sequence = randomInt(0, 0x10000);
  private readonly ssrc = randomInt(0, 0xffffffff);
  private readonly timestampOffset = randomInt(0, 0xffffffff);

  constructor(
    readonly endpoint: UdpEndpoint,
    private readonly o: RtpOutputOptions,
  ) {
    this.udp = new UdpOutput(endpoint);
    this.stats = this.udp.stats;
    this.stats.proto = 'rtp';
    o.sdp?.add(endpoint);
  }

  open(): Promise<void> {
    return this.udp.open();
  }

  send(buf: Buffer): void {
    let payload = buf;
    let timestampUs: number;
    if (this.o.format === 'raw') {
      timestampUs = (performance.timeOrigin + performance.now()) * 1000;
    } else {
      // Our own chunk (sender) or one already checked (relay): the header is trusted.
      if (buf.length < HEADER_BYTES || buf.readUInt32BE(0) !== MAGIC || buf[5] !== Kind.Data) return;
      const channel = buf.readUInt16BE(6);
      if (this.channel < 0) this.channel = channel;
      if (channel !== this.channel) return;
      timestampUs = buf.readUInt32BE(16) * TWO32 + buf.readUInt32BE(20);
      payload = buf.subarray(HEADER_BYTES);
    }
    if (payload.length === 0) return;
    if (this.payloadType < 0) {
      this.payloadType = sniffMediaType(payload) === 'video/mp2t' ? PT_MP2T : PT_DYNAMIC;
      this.o.sdp?.setPayloadType(this.endpoint, this.payloadType);
    }
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
    const ticks = Math.floor((timestampUs * RTP_CLOCK_HZ) / 1e6);
    writeRtpHeader(
      { payloadType: this.payloadType, marker: false, sequence: this.sequence, timestamp: (ticks + this.timestampOffset) % TWO32, ssrc: this.ssrc },
      packet,
    );
    this.sequence = (this.sequence + 1) & 0xffff;
    packet.set(payload, RTP_HEADER_BYTES);
    this.udp.send(packet);
  }

  ready(): Promise<void> | null {
    return this.udp.ready();
  }

  close(): Promise<void> {
    return this.udp.close([]);
  }
}
