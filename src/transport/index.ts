export { startTransportChild, defaultWriteSpinUs, MAX_SPIN_US } from './child.js';
export type { HandOffMeta, TransportChild, TransportExit, TransportOptions, WriterStats } from './api.js';
export {
  emptyHistogram,
  emptyTransportStats,
  LATENCY_BUCKETS_US,
  observeLatency,
  TRANSPORT_KINDS,
  type LatencyHistogram,
  type TransportKind,
  type TransportStats,
} from './stats.js';
export { SINK_EXIT, ReportLineParser, type LatencyReport, type SinkReport } from './report.js';
export { decodeRecordHeader, encodeRecord, RECORD_FLAG_EOS, RECORD_HEADER_BYTES, RECORD_MAGIC, RECORD_MAX_PAYLOAD } from './record.js';
export { listSysv, sysvExists, existingIds, type SysvKind, type SysvObject } from './sysvipc.js';
export { readRegistry, registryDir, processAlive, type RegistryEntry } from './registry.js';
export { scanLeftovers, cleanLeftovers, type Leftover, type LeftoverScan, type CleanResult } from './leftovers.js';
