/**
 * The receiver's live figures, kept as plain numbers by the code that does the work and read
 * by the metrics area (prom-client collect()), the dashboard and the demo's table. Nothing
 * here does I/O; every field is a running total unless marked point-in-time. The figures of
 * each transport are the transport area's (src/transport/stats.ts).
 */
import type { LinkStats } from '../shared/link-stats.js';
import type { ChannelInfo } from '../shared/guide.js';
import type { DecodeReason } from '../shared/protocol.js';
import { emptyTransportParts, transportView, type TransportKind, type TransportParts, type TransportStats } from '../transport/stats.js';

export interface ReceiverStats {
  /** Datagrams or TCP chunks that arrived, and their bytes (before validation). */
  chunksReceived: number;
  bytesReceived: number;
  /** Rejected by the decoder, by reason. */
  decodeErrors: Partial<Record<DecodeReason, number>>;
  /** Sequence accounting on the selected channel. */
  lost: number;
  reordered: number;
  duplicates: number;
  /** Chunks on other channels than the selected one (ignored, not errors). */
  otherChannel: number;
  /** Point-in-time: the kernel's drop counter for the UDP socket (/proc/net/udp), if known. */
  kernelDrops: number;
  /** TCP reconnects after the sender went away. */
  reconnects: number;
  /** The channel being played, and the latest guide. */
  channel: number;
  guide: ChannelInfo[];
  endOfStream: boolean;
  transports: Partial<Record<TransportKind, TransportStats>>;
  /** SRT and RIST inputs: the connection as the library counts it. */
  links?: LinkStats[];
  /** recv --flow ack: acknowledgements sent, and how many waited for a decoder to catch up. */
  flowAck?: { acked: number; heldBack: number };
}

export function emptyReceiverStats(): ReceiverStats {
  return {
    chunksReceived: 0,
    bytesReceived: 0,
    decodeErrors: {},
    lost: 0,
    reordered: 0,
    duplicates: 0,
    otherChannel: 0,
    kernelDrops: 0,
    reconnects: 0,
    channel: 0,
    guide: [],
    endOfStream: false,
    transports: {},
  };
}

const partsOf = new WeakMap<object, TransportParts>();

/**
 * The parts of `kind`'s figures, one per owner (src/transport/stats.ts): made on first use,
 * with the merged view that stats.transports[kind] shows its readers. A plain TransportStats
 * put there by a test serves as every part.
 */
export function transportParts(stats: ReceiverStats, kind: TransportKind): TransportParts {
  const present = stats.transports[kind];
  if (present) return partsOf.get(present) ?? { handOff: present, child: present, sink: present };
  const parts = emptyTransportParts();
  const view = transportView(kind, parts);
  partsOf.set(view, parts);
  stats.transports[kind] = view;
  return parts;
}
