/** The SRT and RIST outputs behind one door: which class, and how large a chunk may be. */
import { UsageError } from '../../shared/errors.js';
import type { Endpoint, RistEndpoint, SrtEndpoint } from '../../shared/url.js';
import type { Output } from './output.js';
import { RistOutput } from './rist.js';
import { SrtOutput, type SrtOutputOptions } from './srt.js';

/** SRT live mode: one message in one packet of at most 1456 bytes; the FEC filter takes 4 of them. */
export const SRT_MAX_MESSAGE = 1456;
const SRT_FEC_HEADER = 4;
export const SRT_FEC_MAX_MESSAGE = SRT_MAX_MESSAGE - SRT_FEC_HEADER;
/** RIST: one RTP packet within a 1500-byte MTU (IP 20 + UDP 8 + RTP 12 + 1460), as SRT's budget. */
const RIST_MAX_MESSAGE = 1456;

/** The largest chunk (header included) one packet of this endpoint carries. */
export function repairPayloadLimit(ep: SrtEndpoint | RistEndpoint): number {
  if (ep.proto === 'rist') return RIST_MAX_MESSAGE;
  return ep.packetFilter ? SRT_FEC_MAX_MESSAGE : SRT_MAX_MESSAGE;
}

export function repairOutput(ep: SrtEndpoint | RistEndpoint, o: SrtOutputOptions): Output {
  return ep.proto === 'srt' ? new SrtOutput(ep, o) : new RistOutput(ep, o);
}

/** Every chunk (`wireBytes`: payload, with the header in ipcast format) must fit one packet. */
export function validateRepairOutputs(outputs: Endpoint[], wireBytes: number): void {
  for (const e of outputs) {
    if (e.proto !== 'srt' && e.proto !== 'rist') continue;
    const max = repairPayloadLimit(e);
    if (wireBytes > max) {
      throw new UsageError(`--chunk does not fit one ${e.proto.toUpperCase()} packet (${wireBytes} bytes on the wire, at most ${max}): lower --chunk by ${wireBytes - max}`, 'ERR_BAD_NUMBER');
    }
  }
}
