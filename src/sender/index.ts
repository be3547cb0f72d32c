/** The sender's public surface: start a sender, its sources, its stats. */
export { Sender, startSender, type Format, type SenderOptions } from './sender.js';
export { SEND_FLAGS } from './validate.js';
export { parseSource, resolveSource, type ChannelSource, type SourceSpec, type ResolveOptions } from './sources.js';
export type { ChannelStats, OutputStats, SenderStats } from './stats.js';
export { measureBitrate, formatRate, type MeasuredRate } from './bitrate.js';
export { TokenBucket, defaultBurstBytes, type Clock } from './token-bucket.js';
export { TONE_BITRATE } from './tone.js';
