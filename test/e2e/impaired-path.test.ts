/**
 * Counters exact under combined impairment (issue 16): a real `ipcast send` → a seeded
 * impairing path (test/helpers/impair.ts: drops ~1 %, duplicates ~1 %, swaps ~2 % of the data
 * chunks, also while a gap is open, and records what it forwarded) → a real `ipcast recv
 * --transport pipe,shm,msg`. The expected lost / reordered / duplicates come from the path's
 * record through the brute-force oracle of docs/receiver.md's definitions
 * (test/helpers/sequence-oracle.ts), and must equal recv's /metrics (read while recv still runs)
 * and its summary line exactly; every transport's decoder (sha256sum) must get exactly the
 * delivered chunks' payloads, in order. All traffic on 127.0.0.1.
 *
 * UDP: recv's window is 32 and the path swaps neighbours sent back to back, so no chunk can be
 * late and the oracle needs no timing. TCP: the same impairment at the framing level (a relay
 * that cuts the sender's frames by their length field); recv's window is 0 there, so a swapped
 * pair is one lost and one reordered.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { killAllH, parseSummary, registryIds, sleep, spawnH, tempDir, type HProc } from '../helpers/hardening.js';
import { parseMetrics } from '../helpers/metrics-parse.js';
import { startTcpImpairer, startUdpImpairer, type Impairing, type ImpairOptions } from '../helpers/impair.js';
import { freePort } from '../helpers/procs.js';
import { sequenceOracle, type OracleResult } from '../helpers/sequence-oracle.js';

const CHUNK = 1316;
const CHUNKS = 3000;
const RATE = '12M';
const SEED = Number(process.env.IPCAST_IMPAIR_SEED ?? 16);
const IMPAIR: Omit<ImpairOptions, 'seed'> = { drop: 0.01, duplicate: 0.01, swap: 0.02, channel: 1, holdEos: true };

let paths: Impairing[] = [];
afterEach(async () => {
  await killAllH();
  await Promise.all(paths.map((p) => p.close()));
  paths = [];
});

function sourceFile(dir: string): string {
  const file = join(dir, 'source.bin');
  writeFileSync(file, randomBytes(CHUNK * CHUNKS));
  return file;
}

async function untilTrue(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function recvArgs(url: string): string[] {
  return ['recv', url, '--channel', '1', '--transport', 'pipe,shm,msg', '--exec', 'sha256sum', '--exit-on-eos', '--metrics', '127.0.0.1:0'];
}

async function metricsUrlOf(recv: HProc): Promise<string> {
  const line = await recv.waitFor(/metrics http:\/\/127\.0\.0\.1:\d+\//);
  return new URL('metrics', /http:\/\/\S+\//.exec(line)![0]).href;
}

async function scrape(url: string): Promise<Record<string, number>> {
  const parsed = parseMetrics(await (await fetch(url)).text());
  const one = (name: string): number => parsed.samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
  return {
    lost: one('ipcast_receiver_lost_chunks_total'),
    reordered: one('ipcast_receiver_reordered_chunks_total'),
    duplicates: one('ipcast_receiver_duplicate_chunks_total'),
    kernelDrops: one('ipcast_receiver_kernel_drops_total'),
  };
}

/** The path's record through the oracle, and what the decoders must have got. */
function groundTruth(path: Impairing, window: number): { want: OracleResult; digest: string } {
  const rec = path.record;
  const want = sequenceOracle(
    rec.arrivals.map((n) => ({ kind: 'arrive' as const, n, t: 0 })),
    { window },
  );
  const h = createHash('sha256');
  for (const n of want.delivered) h.update(rec.payloads.get(n)!);
  return { want, digest: h.digest('hex') };
}

/**
 * Waits for the end of the stream at the path (kept back), then for recv to give up its last
 * gaps and read the kernel's drop counter (once a second), and checks /metrics; then lets the
 * end of stream through and checks the summary, the decoders and the System V objects.
 */
async function checkRun(recv: HProc, metricsUrl: string, path: Impairing, window: number, registry: string): Promise<string> {
  await untilTrue('the end of stream at the impairing path', () => path.record.eosSeen || path.record.error !== undefined, 15_000);
  expect(path.record.error).toBeUndefined();
  const { want, digest } = groundTruth(path, window);
  const rec = path.record;
  // The impairment did happen, including the case issue 16 was about.
  expect(rec.dropped.length).toBeGreaterThan(5);
  expect(rec.duplicated.length).toBeGreaterThan(5);
  expect(rec.swapped.length).toBeGreaterThan(10);
  if (window > 0) expect(want.reorderedInGap).toBeGreaterThan(0);
  if (window > 0) expect(want.late, 'a chunk later than the window: the path swaps neighbours only').toBe(0);

  await sleep(1300);
  const live = await scrape(metricsUrl);
  expect(live.kernelDrops, 'recv\'s socket dropped datagrams: the ground truth no longer holds').toBe(0);
  expect({ lost: live.lost, reordered: live.reordered, duplicates: live.duplicates }).toEqual({
    lost: want.lost,
    reordered: want.reordered,
    duplicates: want.duplicates,
  });

  path.releaseEos();
  const r = await recv.proc;
  expect(r.exitCode, recv.stderrText()).toBe(0);
  const s = parseSummary(recv.stderrText());
  expect({ lost: s.lost, reordered: s.reordered, duplicates: s.duplicates }).toEqual({
    lost: want.lost,
    reordered: want.reordered,
    duplicates: want.duplicates,
  });
  expect(s.errors).toEqual({});
  const delivered = want.delivered.length;
  const bytes = want.delivered.reduce((n, seq) => n + rec.payloads.get(seq)!.length, 0);
  for (const t of ['pipe', 'shm', 'msg']) {
    expect(s.transports[t], t).toMatchObject({ chunks: delivered, bytes, dropped: 0, restarts: 0 });
  }
  // shm and msg: ipcast-sink read and verified every record before writing it to sha256sum.
  expect(s.transports.shm!.verified).toBe(delivered);
  expect(s.transports.msg!.verified).toBe(delivered);
  const digests = [...recv.stdoutText().matchAll(/^([0-9a-f]{64})  -$/gm)].map((m) => m[1]);
  expect(digests).toEqual([digest, digest, digest]);
  expect(registryIds(registry)).toEqual([]);
  return (
    `received ${rec.received} data chunks, forwarded ${rec.arrivals.length}: dropped ${rec.dropped.length}, duplicated ${rec.duplicated.length}, ` +
    `swapped ${rec.swapped.length} (${want.reorderedInGap} reordered while a gap was open, ${want.late} late); ` +
    `expected = recv: lost ${want.lost}, reordered ${want.reordered}, duplicates ${want.duplicates}, delivered ${delivered}`
  );
}

describe('counters exact behind a seeded impairing path', () => {
  // UDP in ipcast format takes the native relay path (native/relay); IPCAST_RELAY=js the JS
  // one (src/receiver/sequence-tracker.ts): both must equal the ground truth.
  it.each(['native', 'js'] as const)(`UDP unicast, pipe + shm + msg, %s relay path (seed ${SEED})`, async (relayPath) => {
    const dir = tempDir('ipcast-impair-');
    const file = sourceFile(dir);
    const recvPort = await freePort('udp');
    const recv = spawnH(recvArgs(`udp://@127.0.0.1:${recvPort}`), {
      env: { IPCAST_IPC_REGISTRY: join(dir, 'ipc'), IPCAST_RELAY: relayPath },
      timeoutMs: 30_000,
    });
    const metricsUrl = await metricsUrlOf(recv);
    expect(recv.stderrText()).toMatch(relayPath === 'native' ? /chunks through the native relay/ : /chunks through JS/);
    const path = await startUdpImpairer({ seed: SEED, ...IMPAIR, toPort: recvPort });
    paths.push(path);
    const send = spawnH(['send', file, '--rate', RATE, '--to', `udp://127.0.0.1:${path.port}`], { timeoutMs: 20_000 });
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    const said = await checkRun(recv, metricsUrl, path, 32, join(dir, 'ipc'));
    console.log(`UDP (${relayPath}): ${said}`);
  }, 20_000);

  it(`TCP, impaired at the framing level, pipe + shm + msg (seed ${SEED})`, async () => {
    const dir = tempDir('ipcast-impair-');
    const file = sourceFile(dir);
    const sendPort = await freePort('tcp');
    const send = spawnH(['send', file, '--rate', RATE, '--wait-clients', '1', '--to', `tcp://127.0.0.1:${sendPort}`], { timeoutMs: 20_000 });
    await send.waitFor(/listening|waiting/i);
    const path = await startTcpImpairer({ seed: SEED, ...IMPAIR, upstreamPort: sendPort });
    paths.push(path);
    const recv = spawnH(recvArgs(`tcp://127.0.0.1:${path.port}`), { env: { IPCAST_IPC_REGISTRY: join(dir, 'ipc') }, timeoutMs: 30_000 });
    const metricsUrl = await metricsUrlOf(recv);
    const said = await checkRun(recv, metricsUrl, path, 0, join(dir, 'ipc'));
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    expect(parseSummary(recv.stderrText()).reconnects).toBe(0);
    console.log(`TCP: ${said}`);
  }, 20_000);
});
