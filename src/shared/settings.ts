/**
 * The knobs the environment may turn (IPCAST_UDP, IPCAST_RELAY, IPCAST_PACER, IPCAST_GSO, IPCAST_LIBSRT, IPCAST_LIBRIST, IPCAST_WRITE_SPIN_US,
 * IPCAST_IPC_REGISTRY, IPCAST_BENCH_BATCH_BYTES; docs/transports.md, docs/receiver.md).
 * Library code reads them here and never the environment itself: src/cli.ts fills them once
 * from the environment (src/commands/environment.ts), a test or a script calls configure().
 */
export interface Settings {
  /** The UDP sockets of IPv4 URLs: 'native' (the addon's recvmmsg/sendmmsg) or 'dgram' (Node's). */
  udp: 'native' | 'dgram';
  /** recv's path for ipcast chunks on native UDP: 'native' (the relay thread) or 'js'. */
  relay: 'native' | 'js';
  /** send's pacing when every output is native IPv4 UDP: 'native' (the addon's thread) or 'js'. */
  pacer: 'native' | 'js';
  /** The native pacing loop sends runs of equal-size datagrams with UDP_SEGMENT (IPCAST_GSO=0: never). */
  gso: boolean;
  /** The libsrt / librist file to dlopen instead of the Debian sonames ('' = those). */
  libsrt: string;
  librist: string;
  /** The writers' spin (µs) when no option gives one; undefined: the engine's default. */
  writeSpinUs: number | undefined;
  /** Where the System V registry files go; undefined: /tmp/ipcast-ipc-<uid>. */
  registryDir: string | undefined;
  /** bench: about this many payload bytes per native write call at full speed. */
  benchBatchBytes: number;
}

const DEFAULTS: Readonly<Settings> = { udp: 'native', relay: 'native', pacer: 'native', gso: true, libsrt: '', librist: '', writeSpinUs: undefined, registryDir: undefined, benchBatchBytes: 256 * 1024 };

const current: Settings = { ...DEFAULTS };

export function settings(): Readonly<Settings> {
  return current;
}

/** Sets some knobs; configure() with no argument puts every one back to its default. */
export function configure(patch?: Partial<Settings>): void {
  Object.assign(current, patch ?? DEFAULTS);
}
