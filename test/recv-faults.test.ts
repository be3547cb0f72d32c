/**
 * Faults around a running receiver: the decoder dies mid-stream, the sender restarts.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort, killAll, spawnIpcast } from './helpers/procs.js';

let dir: string;
let file: string;
const FILE_BYTES = 1_500_000;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-faults-'));
  file = join(dir, 'random.bin');
  writeFileSync(file, randomBytes(FILE_BYTES));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function handedOff(stderr: string, transport: string): number {
  return Number(new RegExp(`${transport}: handed off \\d+ chunks \\((\\d+) bytes\\)`).exec(stderr)![1]);
}

describe.each([
  ['pipe', 'sha256sum'],
  ['shm', 'ipcast-sink'],
  ['msg', 'ipcast-sink'],
] as const)('the %s child killed mid-stream', (transport, victim) => {
  it(`is restarted and the stream goes on (${victim} killed)`, async () => {
    const port = await freePort('tcp');
    const send = spawnIpcast(['send', file, '--rate', '6M', '--wait-clients', '1', '--to', `tcp://127.0.0.1:${port}`]);
    await send.waitFor(/waiting/);
    const recv = spawnIpcast(['recv', `tcp://127.0.0.1:${port}`, '--transport', transport, '--exec', 'sha256sum', '--exit-on-eos']);
    await recv.waitFor(/connecting/);
    await new Promise((r) => setTimeout(r, 700));
    const target = childrenOf(recv.proc.pid!).find((p) => commOf(p) === victim);
    expect(target, `children of recv: ${childrenOf(recv.proc.pid!).map(commOf)}`).toBeDefined();
    process.kill(target!, 'SIGKILL');
    expect((await send.proc).exitCode).toBe(0);
    const r = await recv.proc;
    const err = recv.stderrText();
    expect(err).toMatch(new RegExp(`${transport}: decoder was killed by SIGKILL; restarting`));
    expect(err).toMatch(/restarts 1,/);
    // The restarted decoder got the rest of the stream and ended cleanly.
    expect(r.exitCode, err).toBe(0);
    expect(handedOff(err, transport)).toBeGreaterThan(FILE_BYTES / 2);
  }, 30_000);
});

describe('the sender restarted mid-stream', () => {
  it('over TCP: recv reconnects and the new stream reaches the same decoder', async () => {
    const port = await freePort('tcp');
    const first = spawnIpcast(['send', 'tone', '--rate', '2M', '--to', `tcp://127.0.0.1:${port}`]);
    const recv = spawnIpcast(['recv', `tcp://127.0.0.1:${port}`, '--transport', 'msg', '--exit-on-eos']);
    await recv.waitFor(/playing channel/);
    await new Promise((r) => setTimeout(r, 500));
    first.proc.kill('SIGKILL');
    await first.proc;
    const second = spawnIpcast(['send', file, '--rate', '20M', '--wait-clients', '1', '--to', `tcp://127.0.0.1:${port}`]);
    expect((await second.proc).exitCode, second.stderrText()).toBe(0);
    const r = await recv.proc;
    const err = recv.stderrText();
    expect(r.exitCode, err).toBe(0);
    expect(err).toMatch(/reconnects [1-9]/);
    expect(handedOff(err, 'msg')).toBeGreaterThan(FILE_BYTES);
  }, 30_000);

  it('over UDP: the new stream (sequence back at 0) is picked up', async () => {
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'shm', '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    const first = spawnIpcast(['send', 'tone', '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
    // The first stream has reached the decoder (a loaded machine may take most of a second to start a sender).
    await recv.waitFor(/playing channel/);
    await new Promise((r) => setTimeout(r, 300));
    first.proc.kill('SIGKILL');
    await first.proc;
    const second = spawnIpcast(['send', file, '--rate', '20M', '--to', `udp://127.0.0.1:${port}`]);
    expect((await second.proc).exitCode).toBe(0);
    const r = await recv.proc;
    const err = recv.stderrText();
    expect(r.exitCode, err).toBe(0);
    expect(handedOff(err, 'shm')).toBeGreaterThan(FILE_BYTES);
    expect(err).toMatch(/lost 0;/);
    expect(err).toMatch(/duplicates 0;/);
  }, 30_000);
});
