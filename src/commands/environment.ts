/**
 * The one place that reads ipcast's environment variables: turns them into the library's
 * settings (src/shared/settings.ts) before a command runs. A value out of range is ignored,
 * as before: the default stays.
 */
import { configure, type Settings } from '../shared/settings.js';
import { MAX_SPIN_US } from '../transport/child.js';

export function settingsFromEnvironment(env: NodeJS.ProcessEnv): Partial<Settings> {
  const out: Partial<Settings> = {};
  if (env.IPCAST_UDP === 'dgram') out.udp = 'dgram';
  if (env.IPCAST_RELAY === 'js') out.relay = 'js';
  if (env.IPCAST_PACER === 'js') out.pacer = 'js';
  if (env.IPCAST_GSO === '0') out.gso = false;
  if (env.IPCAST_LIBSRT !== undefined) out.libsrt = env.IPCAST_LIBSRT;
  if (env.IPCAST_LIBRIST !== undefined) out.librist = env.IPCAST_LIBRIST;
  const spin = integer(env.IPCAST_WRITE_SPIN_US, 0, MAX_SPIN_US);
  if (spin !== undefined) out.writeSpinUs = spin;
  if (env.IPCAST_IPC_REGISTRY !== undefined) out.registryDir = env.IPCAST_IPC_REGISTRY;
  if (env.IPCAST_BENCH_BATCH_BYTES !== undefined) out.benchBatchBytes = Number(env.IPCAST_BENCH_BATCH_BYTES);
  return out;
}

export function applyEnvironment(env: NodeJS.ProcessEnv): void {
  configure(settingsFromEnvironment(env));
}

function integer(v: string | undefined, min: number, max: number): number | undefined {
  const n = v === undefined || !/^\d+$/.test(v) ? NaN : Number(v);
  return n >= min && n <= max ? n : undefined;
}
