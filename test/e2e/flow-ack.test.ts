/**
 * Stop-and-wait flow control for unicast UDP (issue 15; the seeds' 停等式流控): `send --flow
 * ack` → recv --flow ack. Lost chunks are sent again (byte-exact through a lossy path), and a
 * slow decoder slows the sender down instead of losing data.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ipcast, spawnIpcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';
import { scratchPerTest } from '../helpers/scratch.js';

const scratch = scratchPerTest('ipcast-flow-');

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** An ipcast data chunk (magic, kind 1). */
const dataChunk = (d: Buffer): boolean => d.length >= 32 && d.readUInt32BE(0) === 0x49504331 && d[5] === 1;

describe('send --flow ack', () => {
  it('3% of the data chunks dropped on the way: every one sent again, byte-exact, nothing lost', async () => {
    const { src, out, data } = scratch.files(1520, 300_000);
    const port = await freePort('udp');
    const recv = spawnIpcast(['recv', `udp://@:${port}`, '--flow', 'ack', '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '10'], { timeoutMs: 30_000 });
    await recv.waitFor(/listening on udp/);
    const path = await scratch.lossyPath({ seed: 1520, loss: 0.03, impairable: dataChunk, toPort: port });
    const send = await ipcast(['send', src, '--rate', 'max', '--flow', 'ack', '--to', `udp://127.0.0.1:${path.port}`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(path.record.dropped).toBeGreaterThan(3);
    expect(path.record.reverse).toBeGreaterThan(200); // one acknowledgement per chunk
    expect(sha(readFileSync(out))).toBe(sha(data));
    expect(recv.stderrText()).toMatch(/lost 0;/);
  }, 30_000);

  it('a decoder that stalls: the acknowledgements wait, the sender with them; nothing is dropped', async () => {
    const { src, out, data } = scratch.files(1521, 2_000_000);
    const go = join(dirname(src), 'go');
    const port = await freePort('udp');
    // 64 KiB of buffer and a 1 MiB pipe in front of a decoder that reads nothing until told.
    const recv = spawnIpcast(
      ['recv', `udp://@:${port}`, '--flow', 'ack', '--buffer', '65536', '--exec', `sh -c 'while [ ! -e ${go} ]; do sleep 0.05; done; cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '20'],
      { timeoutMs: 40_000 },
    );
    await recv.waitFor(/listening on udp/);
    // A lossless path, only to watch the sender: it must stall (at most a retransmission a
    // few hundred ms) once the buffers in front of the decoder are full.
    const path = await scratch.lossyPath({ seed: 1521, loss: 0, toPort: port });
    const send = ipcast(['send', src, '--rate', 'max', '--flow', 'ack', '--to', `udp://127.0.0.1:${path.port}`], { timeout: 40_000 });
    let sendDone = false;
    void send.then(() => (sendDone = true));
    let stalled = false;
    const history: number[] = [];
    for (let i = 0; i < 300 && !stalled; i++) {
      await new Promise((r) => setTimeout(r, 100));
      history.push(path.record.received);
      const n = history.length;
      stalled = !sendDone && n > 10 && history[n - 1]! > 500 && history[n - 1]! - history[n - 11]! < 5;
    }
    expect(stalled, `the sender never stalled: ${history.join(',')}`).toBe(true);
    writeFileSync(go, '');
    const s = await send;
    expect(s.exitCode, s.stderr).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(recv.stderrText()).toMatch(/dropped 0,/);
    const held = /held back (\d+) while/.exec(recv.stderrText());
    expect(Number(held?.[1])).toBeGreaterThan(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
  }, 45_000);

  it('no receiver answering: send gives up with one line, exit 1; a multicast output is refused (exit 2)', async () => {
    const port = await freePort('udp');
    const send = await ipcast(['send', 'tone:440:1', '--flow', 'ack', '--to', `udp://127.0.0.1:${port}`], { timeout: 30_000 });
    expect(send.exitCode).toBe(1);
    expect(send.stderr).toMatch(/no acknowledgement .*--flow ack/);
    const m = await ipcast(['send', 'tone', '--flow', 'ack', '--to', 'udp://239.255.0.1:5004?iface=127.0.0.1']);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/--flow ack is for unicast/);
  }, 30_000);
});
