import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { existingIds, listSysv } from '../../src/transport/sysvipc.js';
import { registryIds, sleep } from '../helpers/hardening.js';
import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ipcast demo', () => {
  it('--seconds 5 streams the tone to all three transports, exits 0 and leaves nothing in ipcs', async () => {
    // Its own registry directory: the System V ids this demo created, and nobody else's.
    const reg = mkdtempSync(join(tmpdir(), 'ipcast-demo-reg-'));
    dirs.push(reg);
    const port = await freePort('tcp');
    const demo = spawnIpcast(['demo', '--seconds', '5', '--metrics', `127.0.0.1:${port}`], { env: { IPCAST_IPC_REGISTRY: reg } });
    await demo.waitFor(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const pid = demo.proc.pid!;
    // The children are up once the stream plays: the segment, its semaphore array and the queue.
    let ids = registryIds(reg);
    for (let i = 0; i < 50 && ids.length < 3; i++, ids = registryIds(reg)) await sleep(100);
    expect(ids.map((o) => o.kind).sort()).toEqual(['msg', 'sem', 'shm']);
    expect(ids.every((o) => o.owner === pid)).toBe(true);
    expect(existingIds(ids)).toHaveLength(3);
    const r = await demo.proc;
    expect(r.exitCode, demo.stderrText()).toBe(0);
    const out = demo.stdoutText();
    for (const t of ['pipe', 'shm', 'msg']) {
      const rows = [...out.matchAll(new RegExp(`^${t}\\s+[\\d.]+ [kMGT]?B/s\\s+(\\d+)\\s+(\\d+)`, 'gm'))];
      expect(rows.length, out).toBeGreaterThan(2);
      const last = rows.at(-1)!;
      expect(Number(last[1])).toBeGreaterThan(100); // chunks handed off in ~5 s at 705.6 kbit/s (~67/s)
      expect(Number(last[2])).toBe(Number(last[1])); // and all verified by the sink
    }
    expect(demo.stderrText()).toMatch(/lost 0;/);
    // Every id it created is gone, with its registry file; nothing else of its pid remains.
    expect(existingIds(ids)).toEqual([]);
    expect(readdirSync(reg)).toEqual([]);
    for (const kind of ['shm', 'sem', 'msg'] as const) expect(listSysv(kind).filter((o) => o.cpid === pid || o.lspid === pid)).toEqual([]);
  }, 30_000);
});
