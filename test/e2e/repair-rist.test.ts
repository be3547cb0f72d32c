/**
 * RIST through librist (simple profile; issue 15): `ipcast send --to rist://…` → a seeded
 * lossy path that forwards RTP (impaired) and RTCP (untouched) both ways → `ipcast recv
 * rist://@…`, byte-exact at 8 Mbit/s with 1% loss.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ipcast, killAll, spawnIpcast } from '../helpers/cli.js';
import { startLossyUdpPath, type LossyPath } from '../helpers/impair.js';
import { freePort } from '../helpers/procs.js';
import { randomBytes, rng } from '../helpers/rng.js';

let paths: LossyPath[] = [];
let dir = '';
afterEach(async () => {
  await killAll();
  await Promise.all(paths.map((p) => p.close()));
  paths = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('RIST through librist', () => {
  it('send → 1% loss → recv: byte-exact at 8 Mbit/s; librist counts the repairs', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipcast-rist-'));
    const src = join(dir, 'in.bin');
    const out = join(dir, 'out.bin');
    const data = randomBytes(rng(1510), 1_500_000);
    writeFileSync(src, data);
    const port = 2 * Math.floor((await freePort('udp')) / 2);
    const recv = spawnIpcast(['recv', `rist://@:${port}?buffer=500`, '--exec', `sh -c 'cat > ${out}'`, '--exit-on-eos', '--idle-timeout', '5'], { timeoutMs: 30_000 });
    await recv.waitFor(/listening on rist/);
    // RTP data: version 2 (0x80) and not an RTCP packet type (200..204).
    const rtpData = (d: Buffer): boolean => d.length > 12 && (d[0]! & 0xc0) === 0x80 && !(d[1]! >= 200 && d[1]! <= 204);
    const path = await startLossyUdpPath({ seed: 1510, loss: 0.01, impairable: rtpData, toPort: port, ports: 2 });
    paths.push(path);
    const send = await ipcast(['send', src, '--rate', '8M', '--to', `rist://127.0.0.1:${path.port}?buffer=500`], { timeout: 30_000 });
    expect(send.exitCode, send.stderr).toBe(0);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    console.log(`rist buffer=500, loss 0.01: the path dropped ${path.record.dropped} of ${path.record.impairable} RTP packets; recv: ${/rist \S+ \S+: packets.*?ms/.exec(recv.stderrText())?.[0]}`);
    expect(path.record.dropped).toBeGreaterThan(5);
    expect(path.record.reverse).toBeGreaterThan(0);
    expect(sha(readFileSync(out))).toBe(sha(data));
    const m = /rist \S+ \S+: packets (\d+), lost (\d+), retransmitted (\d+), recovered (\d+)/.exec(recv.stderrText());
    expect(m, recv.stderrText()).not.toBeNull();
    expect(Number(m![4])).toBeGreaterThan(0);
  }, 30_000);
});
