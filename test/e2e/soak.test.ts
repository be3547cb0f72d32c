/**
 * A 40-second soak in the suite: scripts/soak.mjs runs ipcast send (tone, 2 Mbit/s) -> ipcast
 * recv (pipe, shm and msg side by side) on 127.0.0.1 and samples every 2 s. After a 10 s
 * warm-up the receiver's RSS must stay within 8 MB, its fds flat, its System V objects the
 * same three, nothing lost or dropped, nothing left behind. For hours: docs/reliability.md.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface SoakResult {
  samples: number;
  rssGrowthMb: number;
  childrenRssGrowthMb: number;
  sendRssGrowthMb: number;
  fdGrowth: number;
  sysvCounts: number[];
  lost: number;
  dropped: number;
  received: number;
  leftovers: unknown[];
  leftoverFiles: string[];
  recvExit: number | null;
  failures: string[];
}

describe('soak', () => {
  it('40 s at 2 Mbit/s over pipe, shm and msg: flat RSS and fds, zero loss, nothing left in ipcs', async () => {
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'soak.mjs');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [script, '--duration', '40', '--interval', '2', '--warmup', '10', '--rate', '2M', '--rss-slack-mb', '8', '--json'],
        { timeout: 80_000, maxBuffer: 1 << 20 },
        (_err, out) => resolve({ code: child.exitCode, stdout: out }),
      );
    });
    const last = stdout.trim().split('\n').pop()!;
    const r = JSON.parse(last) as SoakResult;
    console.log(stdout.split('\n').find((l) => l.startsWith('soak: ')));
    expect(r.failures, stdout).toEqual([]);
    expect(code, stdout).toBe(0);
    expect(r.samples).toBeGreaterThanOrEqual(18);
    expect(r.rssGrowthMb).toBeLessThanOrEqual(8);
    expect(r.childrenRssGrowthMb).toBeLessThanOrEqual(8);
    expect(r.sendRssGrowthMb).toBeLessThanOrEqual(8);
    expect(r.fdGrowth).toBe(0);
    expect(r.sysvCounts).toEqual([3]);
    expect(r.lost).toBe(0);
    expect(r.dropped).toBe(0);
    expect(r.received).toBeGreaterThan(6_000);
    expect(r.leftovers).toEqual([]);
    expect(r.leftoverFiles).toEqual([]);
    expect(r.recvExit).toBe(0);
  }, 90_000);
});
