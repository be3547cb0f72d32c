/**
 * The writer engine behind the addon (native/engine/writer.c, native/transport_binding.cc):
 * a full transport is waited on by the writer's own thread, not libuv's pool, and a writer
 * removes only the System V objects it created.
 */
import { execFileSync } from 'node:child_process';
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

import { loadNative, type NativeIpcWriter } from '../../src/shared/native.js';
import { startTransportChild, type TransportChild } from '../../src/transport/index.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const open: TransportChild[] = [];
const writers: NativeIpcWriter[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  for (const w of writers.splice(0)) w.close();
});

/** Calibrates pbkdf2 so that one call keeps a pool thread busy for about `ms`. */
function pbkdf2Iterations(ms: number): number {
  const n = 20_000;
  const t0 = performance.now();
  pbkdf2Sync('x', 's', n, 32, 'sha512');
  return Math.ceil((ms / Math.max(0.5, performance.now() - t0)) * n);
}

describe('a full transport', () => {
  it.each(['msg', 'shm', 'pipe'] as const)('%s: is waited on off the main thread and off the libuv pool', async (kind) => {
    // A slow reader (1 ms per record) and a batch larger than the transport holds: the write
    // must wait. With every libuv pool thread busy for seconds, it still completes.
    const child = await startTransportChild(kind, { stdout: 'ignore', slowUs: 1000, slots: 2, slotBytes: 4096, pipeBytes: 4096, writeSpinUs: 0 });
    open.push(child);
    const iterations = pbkdf2Iterations(1000);
    let poolDone = 0;
    const pool = Array.from({ length: 4 }, () => new Promise<void>((r) => pbkdf2('x', 's', iterations, 32, 'sha512', () => (poolDone++, r()))));
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1316, i));
    await child.writeBatch(chunks);
    const doneBeforePool = poolDone;
    const stats = child.stats();
    await child.end();
    expect((await child.exited).report).toMatchObject({ chunks: 40, gaps: 0, checksumErrors: 0 });
    expect(stats.waits).toBeGreaterThanOrEqual(1);
    expect(doneBeforePool).toBe(0); // the write did not need a pool thread
    await Promise.all(pool);
  }, 60_000);
});

describe('System V ids', () => {
  it('a writer that fails to construct removes nothing (private IPC namespace, id 0 in use)', () => {
    const out = execFileSync('unshare', ['-r', '-i', process.execPath, '--expose-gc', join(root, 'test/fixtures/writer-ids-probe.cjs'), root], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(r).toMatchObject({ firstSemId: 0, firstShmId: 0, errors: ['RangeError', 'RangeError', 'RangeError', 'RangeError'] });
    expect(r.semAlive).toBe(true);
    expect(r.firstWritable).toBe(true);
    expect(r.afterClose).toBe(false);
  });

  it('a writer collected without close() removes its own objects', () => {
    const out = execFileSync(
      'unshare',
      ['-r', '-i', process.execPath, '--expose-gc', '-e', `
        const b = require(${JSON.stringify(join(root, 'build/Release/ipcast.node'))});
        let w = new b.IpcWriter('msg', {}); const id = w.info.msgId; w = null; global.gc();
        setTimeout(() => console.log(JSON.stringify({ id, ipcs: require('child_process').execFileSync('ipcs', ['-q']).toString() })), 50);`],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out.trim()) as { id: number; ipcs: string };
    expect(r.id).toBe(0);
    expect(r.ipcs).not.toMatch(/^0x0+\s+0\s/m);
  });
});

describe('errors', () => {
  it('carry the errno name, the negated errno and the system call', async () => {
    const native = loadNative();
    const w = new native.IpcWriter('msg', {});
    writers.push(w);
    execFileSync('ipcrm', ['-q', String(w.info.msgId)]); // someone removes our queue
    let err: (Error & { code?: string; errno?: number; syscall?: string }) | undefined;
    try {
      const r = w.write([Buffer.alloc(100)], null, true);
      if (r !== true) await r;
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toMatch(/^(EINVAL|EIDRM)$/);
    expect(err?.errno).toBeLessThan(0);
    expect(err?.syscall).toBe('msgsnd(2)');
    expect(err?.message).toMatch(/^msgsnd\(2\) failed, E(INVAL|IDRM): /);
  });
});
