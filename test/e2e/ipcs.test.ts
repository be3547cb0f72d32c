/** `ipcast ipcs [--clean]`: finds the objects a killed writer left and removes them. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { afterEach, describe, expect, it } from 'vitest';

import { loadNative } from '../../src/shared/native.js';
import { existingIds } from '../../src/transport/sysvipc.js';
import { ipcast } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
const created: { kind: 'shm' | 'sem' | 'msg'; id: number }[] = [];

afterEach(() => {
  for (const o of existingIds(created.splice(0))) loadNative().ipcRemove(o.kind, o.id); // only after a failure
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function ipcs(args: string[], env: Record<string, string>): Promise<string> {
  const r = await ipcast(['ipcs', ...args], { env });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

describe('ipcast ipcs', () => {
  it('lists the objects of a killed writer as gone, and --clean removes exactly those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipcast-ipcs-test-'));
    dirs.push(dir);
    const env = { IPCAST_IPC_REGISTRY: dir };
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'fixtures', 'transport-leftover.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (c) => reject(new Error(`fixture exited ${c}`)));
    });
    const { shm, msg } = JSON.parse(line) as { shm: { shmId: number; semId: number }; msg: { msgId: number } };
    const ids = [
      { kind: 'shm' as const, id: shm.shmId },
      { kind: 'sem' as const, id: shm.semId },
      { kind: 'msg' as const, id: msg.msgId },
    ];
    created.push(...ids);
    expect(readdirSync(dir)).toHaveLength(2);

    const running = JSON.parse(await ipcs(['--json'], env)) as { kind: string; id: number; ownerAlive: boolean; ownerPid: number }[];
    for (const o of ids) expect(running).toContainEqual(expect.objectContaining({ ...o, ownerPid: child.pid, ownerAlive: true }));
    const keep = JSON.parse(await ipcs(['--clean', '--json'], env)) as { removed: unknown[]; kept: { id: number }[] };
    expect(keep.kept.map((k) => k.id)).toEqual(expect.arrayContaining(ids.map((o) => o.id)));
    expect(existingIds(ids)).toHaveLength(3);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const table = await ipcs([], env);
    expect(table).toMatch(/^KIND +ID +OWNER +STATE +DETAIL/);
    expect(table).toMatch(new RegExp(`^shm +${shm.shmId} +${child.pid} +gone +(shm transport|ring 2 x 4096 B)`, 'm'));
    expect(table).toMatch(new RegExp(`^msg +${msg.msgId} +${child.pid} +gone +msg transport, 0 messages`, 'm'));

    const out = await ipcs(['--clean'], env);
    for (const o of ids) expect(out).toContain(`removed ${o.kind} ${o.id} (owner ${child.pid} gone)`);
    expect(await waitFor(() => existingIds(ids).length === 0, 2000)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(await ipcs([], env)).not.toMatch(new RegExp(`^(shm|sem|msg) +(${ids.map((o) => o.id).join('|')}) `, 'm'));
  });
});
