/**
 * docs/errors.md is the one table of every ERR_* code: this file checks that the table and
 * the code agree (the codes thrown in src/ and native/ are the ones listed), and makes each
 * code happen, asserting the class, the code and the exit code together.
 */
import { closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { assertVerified, runBench } from '../../../src/bench/index.js';
import { runBaseline } from '../../../src/bench/baseline.js';
import type { BenchReport } from '../../../src/bench/types.js';
import { serveMetrics } from '../../../src/metrics/serve.js';
import { HttpStreamServer } from '../../../src/http/stream-server.js';
import { readGuide } from '../../../src/receiver/guide-reader.js';
import { openUdpInput } from '../../../src/receiver/inputs/udp-input.js';
import { runReceiver } from '../../../src/receiver/run.js';
import { parseSource, resolveSource, startSender, type ChannelSource } from '../../../src/sender/index.js';
import { parseInteger, parseListenAddress, parseRate } from '../../../src/shared/args.js';
import { IpcastError, RuntimeError, UsageError } from '../../../src/shared/errors.js';
import { loadNative, nativeExecutable } from '../../../src/shared/native.js';
import { splitShellWords } from '../../../src/shared/shell-words.js';
import { parseEndpoint } from '../../../src/shared/url.js';
import { startTransportChild, type TransportChild } from '../../../src/transport/index.js';
import { ipcast } from '../../helpers/cli.js';
import { freePort } from '../../helpers/procs.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Every code in docs/errors.md's tables. */
function documentedCodes(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  return new Set([...text.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
}

/** Every 'ERR_*' / "ERR_*" literal in the files below `dir` with one of `exts`. */
function codesIn(dir: string, exts: string[]): Set<string> {
  const out = new Set<string>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) codesIn(path, exts).forEach((c) => out.add(c));
    else if (exts.some((e) => name.endsWith(e))) {
      for (const m of readFileSync(path, 'utf8').matchAll(/['"](ERR_[A-Z0-9_]+)['"]/g)) out.add(m[1]!);
    }
  }
  return out;
}

/** Runs `fn` and returns what it threw (sync or async). */
async function thrown(fn: () => unknown): Promise<IpcastError> {
  try {
    await fn();
  } catch (err) {
    return err as IpcastError;
  }
  throw new Error('expected an error');
}

/** Asserts the class, code and exit code together (and a message that says something). */
function expectCode(err: unknown, code: string, kind: typeof UsageError | typeof RuntimeError, message?: RegExp): void {
  expect(err).toBeInstanceOf(kind);
  const e = err as IpcastError;
  expect({ code: e.code, exitCode: e.exitCode }).toEqual({ code, exitCode: kind === UsageError ? 2 : 1 });
  if (message) expect(e.message).toMatch(message);
}

/** A channel that never says its bitrate and streams nothing. */
function silentChannel(id: number, description = ''): ChannelSource {
  return {
    id,
    name: `ch${id}`,
    description,
    measure: async () => null,
    chunks: async function* () {},
  };
}

async function startedTransport(kind: 'pipe' | 'shm' | 'msg', opts: Parameters<typeof startTransportChild>[1] = {}): Promise<TransportChild> {
  const t = await startTransportChild(kind, { stdout: 'ignore', ...opts });
  cleanups.push(() => t.close());
  return t;
}

/** Each code: how a test makes it happen. */
const CASES: Record<string, () => Promise<void>> = {
  ERR_USAGE: async () => {
    expectCode(await thrown(() => startSender({ channels: [], outputs: [parseEndpoint('udp://127.0.0.1:9', 'send')], rate: 1e6 })), 'ERR_USAGE', UsageError, /no channels/);
  },
  ERR_BAD_ARGUMENT: async () => {
    expectCode(await thrown(() => splitShellWords('cat "open')), 'ERR_BAD_ARGUMENT', UsageError, /unterminated " quote/);
  },
  ERR_BAD_NUMBER: async () => {
    expectCode(await thrown(() => parseInteger('12', '--channel', 1, 10)), 'ERR_BAD_NUMBER', UsageError, /--channel must be 1\.\.10, got 12/);
  },
  ERR_BAD_RATE: async () => {
    expectCode(await thrown(() => parseRate('fast')), 'ERR_BAD_RATE', UsageError, /expects a bitrate/);
  },
  ERR_BAD_ADDRESS: async () => {
    expectCode(await thrown(() => parseListenAddress('here:there')), 'ERR_BAD_ADDRESS', UsageError, /\[HOST:\]PORT/);
  },
  ERR_BAD_URL: async () => {
    expectCode(await thrown(() => parseEndpoint('udp://127.0.0.1:0', 'send')), 'ERR_BAD_URL', UsageError, /^bad URL/);
  },
  ERR_BAD_IFACE: async () => {
    const out = parseEndpoint('udp://239.255.42.43:5000?iface=192.0.2.1', 'send');
    expectCode(await thrown(() => startSender({ channels: [silentChannel(1)], outputs: [out], rate: 1e6 })), 'ERR_BAD_IFACE', UsageError, /not on this machine/);
  },
  ERR_BAD_INTERFACE: async () => {
    const ep = parseEndpoint('udp://@239.255.42.43:5000?iface=192.0.2.1', 'recv');
    expectCode(await thrown(() => openUdpInput(ep as never, { datagram() {}, error() {} } as never)), 'ERR_BAD_INTERFACE', UsageError, /not on this machine/);
  },
  ERR_BAD_SOURCE: async () => {
    expectCode(await thrown(() => parseSource('tone:0')), 'ERR_BAD_SOURCE', UsageError, /tone frequency/);
  },
  ERR_NO_RATE: async () => {
    const err = await thrown(() => startSender({ channels: [silentChannel(1)], outputs: [parseEndpoint('udp://127.0.0.1:9', 'send')] }));
    expectCode(err, 'ERR_NO_RATE', UsageError, /cannot tell the bitrate of channel 1 'ch1'.*give rate/);
  },
  ERR_GUIDE_TOO_LARGE: async () => {
    const channels = Array.from({ length: 300 }, (_, i) => silentChannel(i + 1, 'd'.repeat(400)));
    const err = await thrown(() => startSender({ channels, outputs: [parseEndpoint('udp://127.0.0.1:9', 'send')], rate: 1e6 }));
    expectCode(err, 'ERR_GUIDE_TOO_LARGE', UsageError, /does not fit one datagram/);
  },
  ERR_DECODER_NOT_FOUND: async () => {
    const err = await thrown(() =>
      runReceiver({
        endpoint: parseEndpoint('udp://@127.0.0.1:9', 'recv'),
        format: 'ipcast',
        transports: ['pipe'],
        decoder: ['ipcast-no-such-decoder'],
        exitOnEos: true,
        maxBufferBytes: 1 << 20,
        policy: 'drop-oldest',
        maxRestarts: 0,
        log: () => {},
        signal: AbortSignal.abort(),
      }),
    );
    expectCode(err, 'ERR_DECODER_NOT_FOUND', UsageError, /decoder 'ipcast-no-such-decoder' not found in PATH/);
  },
  ERR_TRANSPORT_KIND: async () => {
    expectCode(await thrown(() => startTransportChild('tcp' as never)), 'ERR_TRANSPORT_KIND', UsageError, /unknown transport 'tcp'/);
  },
  ERR_TRANSPORT_OPTION: async () => {
    expectCode(await thrown(() => startTransportChild('shm', { slots: 0 })), 'ERR_TRANSPORT_OPTION', UsageError, /`slots` option/);
  },
  ERR_RUNTIME: async () => {
    expectCode(new RuntimeError('something failed'), 'ERR_RUNTIME', RuntimeError);
  },
  ERR_SOURCE: async () => {
    expectCode(await thrown(() => resolveSource('/nonexistent/ipcast-source.ts')), 'ERR_SOURCE', RuntimeError, /no such file or directory/);
  },
  ERR_OUTPUT: async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    const err = await thrown(() => startSender({ channels: [silentChannel(1)], outputs: [parseEndpoint(`tcp://127.0.0.1:${port}`, 'send')], rate: 1e6 }));
    expectCode(err, 'ERR_OUTPUT', RuntimeError, /address already in use/);
  },
  ERR_LISTEN: async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    cleanups.push(() => socket.close());
    const ep = parseEndpoint(`udp://@127.0.0.1:${socket.address().port}`, 'recv');
    expectCode(await thrown(() => openUdpInput(ep as never, { datagram() {}, error() {} } as never)), 'ERR_LISTEN', RuntimeError, /cannot listen on .*address already in use/);
  },
  ERR_METRICS_LISTEN: async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    expectCode(await thrown(() => serveMetrics({ host: '127.0.0.1', port }, {})), 'ERR_METRICS_LISTEN', RuntimeError, /address already in use/);
  },
  ERR_HTTP_LISTEN: async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    const http = new HttpStreamServer({ host: '127.0.0.1', port, channels: () => [] });
    expectCode(await thrown(() => http.open()), 'ERR_HTTP_LISTEN', RuntimeError, /--http 127\.0\.0\.1:\d+: address already in use/);
  },
  ERR_NO_GUIDE: async () => {
    const port = await freePort('udp');
    const err = await thrown(() => readGuide(parseEndpoint(`udp://@127.0.0.1:${port}`, 'recv'), 200, () => {}));
    expectCode(err, 'ERR_NO_GUIDE', RuntimeError, /no channel guide arrived/);
  },
  ERR_NATIVE_MISSING: async () => {
    expectCode(await thrown(() => nativeExecutable('ipcast-no-such-program')), 'ERR_NATIVE_MISSING', RuntimeError, /is not built .*tried: /);
  },
  ERR_TRANSPORT_SPAWN: async () => {
    expectCode(await thrown(() => startTransportChild('pipe', { decoder: ['/nonexistent/decoder'] })), 'ERR_TRANSPORT_SPAWN', RuntimeError, /cannot start \/nonexistent\/decoder/);
  },
  ERR_TRANSPORT_CHILD_EXITED: async () => {
    const t = await startedTransport('shm');
    process.kill(t.pid!, 'SIGKILL');
    await t.exited;
    expectCode(await thrown(() => t.write(Buffer.alloc(100))), 'ERR_TRANSPORT_CHILD_EXITED', RuntimeError, /exited with signal SIGKILL/);
  },
  ERR_TRANSPORT_CLOSED: async () => {
    const t = await startedTransport('msg');
    await t.close();
    expectCode(await thrown(() => t.write(Buffer.alloc(100))), 'ERR_TRANSPORT_CLOSED', RuntimeError, /already closed/);
  },
  ERR_TRANSPORT_END_TIMEOUT: async () => {
    // A sink that sleeps 300 ms per record cannot read 4 records within 200 ms of the end.
    const t = await startedTransport('shm', { slowUs: 300_000, endTimeoutMs: 200 });
    for (let i = 0; i < 4; i++) await t.write(Buffer.alloc(100));
    expectCode(await thrown(() => t.end()), 'ERR_TRANSPORT_END_TIMEOUT', RuntimeError, /did not exit within 200 ms/);
  },
  ERR_TRANSPORT_IO: async () => {
    const t = await startedTransport('pipe');
    const err = await thrown(() => t.write('not a buffer' as never));
    expectCode(err, 'ERR_TRANSPORT_IO', RuntimeError, /pipe transport: /);
    expect((err as Error).cause).toBeInstanceOf(Error);
  },
  ERR_WRITE: async () => {
    const r = await ipcast(['bench', '--json', '/nonexistent/dir/bench.json']);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({
      exitCode: 1,
      stderr: 'ipcast: bench: --json: cannot write /nonexistent/dir/bench.json: no such file or directory: /nonexistent/dir (ENOENT)',
    });
  },
  ERR_BENCH_VERIFY: async () => {
    const report = { failures: ['shm 1316 max (ipcast): 3 chunks lost'] } as BenchReport;
    expectCode(await thrown(() => assertVerified(report)), 'ERR_BENCH_VERIFY', RuntimeError, /verification failed: shm 1316 max \(ipcast\): 3 chunks lost/);
    expect(() => assertVerified({} as BenchReport)).not.toThrow();
  },
  ERR_BENCH_INTERRUPTED: async () => {
    const err = await thrown(() => runBench({ transports: ['shm'], sizes: [1316], seconds: 1, rate: 8e6, signal: AbortSignal.abort() }));
    expectCode(err, 'ERR_BENCH_INTERRUPTED', RuntimeError, /interrupted/);
  },
  ERR_BENCH_BASELINE: async () => {
    const err = await thrown(() => runBaseline({ transport: 'shm', chunkBytes: 0, mode: 'max', seconds: 0.2, rate: 8e6 }));
    expectCode(err, 'ERR_BENCH_BASELINE', RuntimeError, /ipcast-baseline .* failed \(exit 2\)/);
  },
  ERR_BUSY: async () => {
    // A raw pipe writer nobody reads: the second write finds the first still waiting.
    const w = new (loadNative().IpcWriter)('pipe', { framed: false, pipeBytes: 4096 });
    cleanups.push(() => closeSync(w.info.readFd!));
    const pending = w.write([Buffer.alloc(w.info.capacity! * 2)], null, false);
    expect(pending).toBeInstanceOf(Promise);
    let err: unknown;
    try {
      w.write([Buffer.alloc(10)], null, false);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_BUSY', message: 'write: a write is already in progress' });
    w.close();
    await expect(pending).rejects.toThrow();
  },
  ERR_LENT: async () => {
    // Lent to the native relay, the writer refuses a write from JS.
    const native = loadNative();
    const socket = new native.UdpSocket('127.0.0.1', 0, false);
    cleanups.push(() => socket.close());
    const relay = new native.UdpRelay(socket.fd!, { kinds: ['pipe'] }, () => {});
    cleanups.push(() => relay.stop());
    const w = new native.IpcWriter('pipe', { framed: true });
    cleanups.push(() => {
      w.close();
      closeSync(w.info.readFd!);
    });
    relay.attach('pipe', 1, w);
    let err: unknown;
    try {
      w.write([Buffer.alloc(10)], null, false);
    } catch (e) {
      err = e;
    }
    relay.detach('pipe', 1, true);
    expect(err).toMatchObject({ code: 'ERR_LENT', message: 'write: the writer is lent to the native relay' });
  },
};

/** Codes no test makes happen, with the reason (docs/errors.md says so in the row). */
const NOT_MADE_TO_HAPPEN = new Set<string>();

/** Codes another test makes happen: there, and what it asserts. */
const ELSEWHERE: Record<string, { file: string; asserts: RegExp }> = {
  // a kernel limit lowered in a private IPC namespace; recv exits 1 with that one line
  ERR_TRANSPORT_CREATE: { file: 'test/e2e/kernel-limits.test.ts', asserts: /transport: cannot create it: / },
  // IPCAST_LIBSRT / IPCAST_LIBRIST naming a missing file; send and recv exit 2 naming the package
  ERR_NO_LIBSRT: { file: 'test/e2e/repair-srt.test.ts', asserts: /libsrt1\\.5-openssl/ },
  ERR_NO_LIBRIST: { file: 'test/e2e/repair-srt.test.ts', asserts: /librist4/ },
  // a listener on a port another socket holds; recv exits 1 with libsrt's / librist's reason
  ERR_SRT: { file: 'test/e2e/repair-srt.test.ts', asserts: /Address already in use/ },
  ERR_RIST: { file: 'test/e2e/repair-srt.test.ts', asserts: /librist cannot open/ },
  // a join refused in a private network namespace whose IGMP membership limit is 0
  ERR_JOIN: { file: 'test/e2e/network-refusals.test.ts', asserts: /cannot join/ },
  // the --flow ack output's socket with no ephemeral port free, in such a namespace
  ERR_SOCKET: { file: 'test/e2e/network-refusals.test.ts', asserts: /cannot open udp/ },
  // a caller with the wrong passphrase
  ERR_SRT_CONNECT: { file: 'test/e2e/repair-srt.test.ts', asserts: /cannot connect/ },
  // a sender with --flow ack and no receiver acknowledging
  ERR_NO_ACK: { file: 'test/e2e/flow-ack.test.ts', asserts: /no acknowledgement/ },
};

describe('docs/errors.md', () => {
  it('lists exactly the codes src/ and native/ throw', () => {
    const thrownCodes = new Set([...codesIn(join(ROOT, 'src'), ['.ts']), ...codesIn(join(ROOT, 'native'), ['.c', '.cc', '.h'])]);
    expect([...documentedCodes()].sort()).toEqual([...thrownCodes].sort());
  });

  it('has a case below for every code but the ones said not to', () => {
    const here = [...documentedCodes()].filter((c) => !NOT_MADE_TO_HAPPEN.has(c) && !(c in ELSEWHERE));
    expect(here.sort()).toEqual(Object.keys(CASES).sort());
    for (const [code, { file, asserts }] of Object.entries(ELSEWHERE)) {
      expect(readFileSync(join(ROOT, file), 'utf8'), code).toMatch(asserts);
    }
    for (const c of NOT_MADE_TO_HAPPEN) expect(readFileSync(join(ROOT, 'docs/errors.md'), 'utf8')).toMatch(new RegExp(`\\| \`${c}\` .*not made to happen by a test`));
  });
});

describe('every code, made to happen', () => {
  it.each(Object.keys(CASES))('%s', async (code) => {
    await CASES[code]!();
  });
});
