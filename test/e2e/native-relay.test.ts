/**
 * recv's native relay path end to end (native/relay, src/receiver/native-path.ts): UDP in
 * ipcast format reaches pipe, shm and msg decoders byte-exact with no JS per chunk, one
 * stream after another, and a decoder killed mid-stream is restarted and fed again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/procs.js';
import { childrenOf, killAllH, parseSummary, spawnH, tempDir } from '../helpers/hardening.js';

afterEach(killAllH);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the native relay path', () => {
  it('pipe, shm and msg at once: each decoder gets the file byte-exact (multicast on 127.0.0.1, 100 Mbit/s)', async () => {
    const dir = tempDir('ipcast-native-');
    const data = randomBytes(12_000_000);
    writeFileSync(join(dir, 'in.bin'), data);
    const port = await freePort('udp');
    const group = `239.253.${(port >> 8) & 0xff}.${port & 0xff}`;
    const url = `udp://@${group}:${port}?iface=127.0.0.1&rcvbuf=8388608`;
    const recv = spawnH(['recv', url, '--transport', 'pipe,shm,msg', '--exec', 'sha256sum', '--exit-on-eos'], { timeoutMs: 30_000 });
    await recv.waitFor(/chunks through the native relay/);
    const send = spawnH(['send', join(dir, 'in.bin'), '--rate', '100M', '--to', `udp://${group}:${port}?iface=127.0.0.1`], { timeoutMs: 30_000 });
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    const digests = recv.stdoutText().trim().split('\n').map((l) => l.split(/\s+/)[0]);
    expect(digests).toEqual([sha(data), sha(data), sha(data)]);
    const s = parseSummary(recv.stderrText());
    expect(s.lost).toBe(0);
    for (const kind of ['pipe', 'shm', 'msg'] as const) expect(s.transports[kind]!.bytes).toBe(data.length);
  }, 40_000);

  it('two streams in a row: each gets decoders of its own, and each decoder its stream byte-exact', async () => {
    const dir = tempDir('ipcast-native-');
    const first = randomBytes(400_000);
    const second = randomBytes(700_000);
    writeFileSync(join(dir, 'a.bin'), first);
    writeFileSync(join(dir, 'b.bin'), second);
    const out = join(dir, 'digests');
    writeFileSync(out, '');
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm,msg', '--exec', `sh -c 'sha256sum >> ${out}'`], { timeoutMs: 30_000 });
    await recv.waitFor(/chunks through the native relay/);
    for (const f of ['a.bin', 'b.bin']) {
      const send = spawnH(['send', join(dir, f), '--rate', '20M', '--to', `udp://127.0.0.1:${port}`], { timeoutMs: 20_000 });
      expect((await send.proc).exitCode, send.stderrText()).toBe(0);
      await recv.waitFor(new RegExp(`(end of stream: closing[^]*){${f === 'a.bin' ? 1 : 2}}`));
    }
    // Every decoder of both streams has written its digest.
    for (let i = 0; i < 100 && readFileSync(out, 'utf8').trim().split('\n').length < 6; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[0]).sort();
    expect(lines).toEqual([sha(first), sha(first), sha(first), sha(second), sha(second), sha(second)].sort());
    recv.proc.kill('SIGINT');
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(parseSummary(recv.stderrText()).lost).toBe(0);
  }, 40_000);

  it('a decoder killed mid-stream is restarted and fed again; the others never notice', async () => {
    const port = await freePort('udp');
    const recv = spawnH(['recv', `udp://@127.0.0.1:${port}`, '--transport', 'pipe,shm'], { timeoutMs: 30_000 });
    await recv.waitFor(/chunks through the native relay/);
    spawnH(['send', 'tone', '--rate', '4M', '--to', `udp://127.0.0.1:${port}`], { timeoutMs: 30_000 });
    await recv.waitFor(/playing channel/);
    await new Promise((r) => setTimeout(r, 500));
    // the shm sink: a child of recv whose command line names the shm transport
    const pids = childrenOf(recv.proc.pid!);
    const shmSink = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('shm'));
    expect(shmSink, `children ${pids}`).toBeDefined();
    process.kill(shmSink!, 'SIGKILL');
    await recv.waitFor(/shm: decoder was killed by SIGKILL; restarting/);
    await new Promise((r) => setTimeout(r, 1500));
    recv.proc.kill('SIGINT');
    const r = await recv.proc;
    const err = recv.stderrText();
    expect(r.exitCode, err).toBe(0);
    const s = parseSummary(err);
    expect(s.transports.shm!.restarts).toBe(1);
    expect(s.transports.pipe!.restarts).toBe(0);
    expect(s.lost).toBe(0);
    // The restarted sink verified chunks of its own after the kill.
    expect(s.transports.shm!.verified, err).toBeGreaterThan(0);
    // The pipe side lost nothing: its sink verified every chunk handed to it.
    expect(s.transports.pipe!.verified, err).toBe(s.transports.pipe!.chunks);
  }, 40_000);
});
