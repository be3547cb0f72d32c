/**
 * What libsrt and librist say about each connection (srt_bstats, librist's statistics
 * callback), refreshed about once a second by the output or input that owns the connection,
 * and read by /metrics (ipcast_link_*, docs/metrics.md), the dashboard and recv's summary.
 * The protocol's own figures, never estimates of ours.
 */
import type { NativeSrtStats } from './native.js';

export interface LinkStats {
  proto: 'srt' | 'rist';
  /** The URL of the output or input the connection belongs to. */
  url: string;
  /** ADDR:PORT of the peer (SRT), or librist's flow / peer id. */
  peer: string;
  role: 'send' | 'recv';
  up: boolean;
  packetsSent: number;
  packetsReceived: number;
  /** Losses the protocol detected (before repair): SRT's pkt{Snd,Rcv}LossTotal, RIST's missing. */
  lost: number;
  /** Sender: retransmissions sent. Receiver: retransmitted packets received. */
  retransmitted: number;
  /** Receiver: losses repaired (RIST recovered_total; SRT retransmitted + FEC rebuilt). */
  recovered: number;
  /** Receiver: packets SRT's FEC filter rebuilt. */
  fecRecovered: number;
  /** Given up as too late (SRT's TLPKTDROP; RIST's lost). */
  droppedTooLate: number;
  rttMs: number;
  sendBitsPerSecond: number;
  receiveBitsPerSecond: number;
}

export function newLinkStats(proto: 'srt' | 'rist', url: string, peer: string, role: 'send' | 'recv'): LinkStats {
  return {
    proto,
    url,
    peer,
    role,
    up: true,
    packetsSent: 0,
    packetsReceived: 0,
    lost: 0,
    retransmitted: 0,
    recovered: 0,
    fecRecovered: 0,
    droppedTooLate: 0,
    rttMs: 0,
    sendBitsPerSecond: 0,
    receiveBitsPerSecond: 0,
  };
}

export function applySrtStats(l: LinkStats, s: NativeSrtStats): void {
  l.packetsSent = s.pktSentTotal;
  l.packetsReceived = s.pktRecvTotal;
  l.lost = l.role === 'send' ? s.pktSndLossTotal : s.pktRcvLossTotal;
  l.retransmitted = l.role === 'send' ? s.pktRetransTotal : s.pktRcvRetrans;
  l.fecRecovered = s.pktRcvFilterSupplyTotal;
  l.recovered = l.role === 'recv' ? s.pktRcvRetrans + s.pktRcvFilterSupplyTotal : 0;
  l.droppedTooLate = l.role === 'send' ? s.pktSndDropTotal : s.pktRcvDropTotal;
  l.rttMs = s.msRTT;
  l.sendBitsPerSecond = s.mbpsSendRate * 1e6;
  l.receiveBitsPerSecond = s.mbpsRecvRate * 1e6;
}

/** librist's statistics JSON (0.2.x): "sender-stats".peer.stats or "receiver-stats".flowinstant.stats. */
export function applyRistStats(l: LinkStats, json: string): void {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return;
  }
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const snd = (o['sender-stats'] as { peer?: { peer_id?: unknown; stats?: Record<string, unknown> } } | undefined)?.peer;
  if (snd?.stats) {
    const s = snd.stats;
    l.peer = `peer ${num(snd.peer_id)}`;
    l.packetsSent = num(s.sent);
    l.packetsReceived = num(s.received);
    l.retransmitted = num(s.retransmitted);
    l.rttMs = num(s.rtt);
    l.sendBitsPerSecond = num(s.bandwidth);
    return;
  }
  const rcv = (o['receiver-stats'] as { flowinstant?: { flow_id?: unknown; stats?: Record<string, unknown> } } | undefined)?.flowinstant;
  if (rcv?.stats) {
    // Per interval in librist: accumulate into totals.
    const s = rcv.stats;
    l.peer = `flow ${num(rcv.flow_id)}`;
    l.packetsReceived += num(s.received);
    l.lost += num(s.missing);
    l.recovered += num(s.recovered_total);
    l.retransmitted += num(s.retries);
    l.droppedTooLate += num(s.lost);
    l.rttMs = num(s.rtt);
    l.receiveBitsPerSecond = num(s.bitrate);
  }
}
