/**
 * What a test that streams a file through a lossy path makes, and undoes after each test: its
 * ipcast processes (killAll), its lossy paths, its temporary folders. Call once at the top of
 * a test file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach } from 'vitest';

import { killAll } from './cli.js';
import { startLossyUdpPath, type LossyPath, type LossyPathOptions } from './impair.js';
import { randomBytes, rng } from './rng.js';

export interface Scratch {
  /** A seeded random file to send (`src`), and where a decoder is to write (`out`), in a fresh folder. */
  files(seed: number, bytes: number): { src: string; out: string; data: Buffer };
  /** A lossy path, closed after the test. */
  lossyPath(o: LossyPathOptions): Promise<LossyPath>;
}

export function scratchPerTest(prefix: string): Scratch {
  const paths: LossyPath[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await killAll();
    await Promise.all(paths.splice(0).map((p) => p.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    files(seed, bytes) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      const data = randomBytes(rng(seed), bytes);
      writeFileSync(join(dir, 'in.bin'), data);
      return { src: join(dir, 'in.bin'), out: join(dir, 'out.bin'), data };
    },
    async lossyPath(o) {
      const p = await startLossyUdpPath(o);
      paths.push(p);
      return p;
    },
  };
}
