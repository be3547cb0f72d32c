import { afterEach, describe, expect, it } from 'vitest';

import { listSysv } from '../src/transport/sysvipc.js';
import { freePort, killAll, spawnIpcast } from './helpers/procs.js';

afterEach(killAll);

describe('ipcast demo', () => {
  it('--seconds 5 streams the tone to all three transports, exits 0 and leaves nothing in ipcs', async () => {
    const port = await freePort('tcp');
    const demo = spawnIpcast(['demo', '--seconds', '5', '--metrics', `127.0.0.1:${port}`]);
    await demo.waitFor(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const pid = demo.proc.pid!;
    const r = await demo.proc;
    expect(r.exitCode, demo.stderrText()).toBe(0);
    const out = demo.stdoutText();
    for (const t of ['pipe', 'shm', 'msg']) {
      const rows = [...out.matchAll(new RegExp(`^${t}\\s+[\\d.]+\\s+(\\d+)\\s+(\\d+)`, 'gm'))];
      expect(rows.length, out).toBeGreaterThan(2);
      const last = rows.at(-1)!;
      expect(Number(last[1])).toBeGreaterThan(100); // chunks handed off in ~5 s at 705.6 kbit/s (~67/s)
      expect(Number(last[2])).toBe(Number(last[1])); // and all verified by the sink
    }
    expect(demo.stderrText()).toMatch(/lost 0;/);
    expect(listSysv('shm').filter((o) => o.cpid === pid)).toEqual([]);
  }, 30_000);
});
