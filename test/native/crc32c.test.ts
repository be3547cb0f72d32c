/**
 * The hardware CRC-32C path (SSE4.2, three interleaved streams, issue 8) against the table
 * version: the addon is loaded twice, once with IPCAST_CRC32C=portable, and both must give
 * the same CRC for random buffers of every length class (tails, 256 B and 8 KiB blocks).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const script = `
const { createRequire } = require('node:module');
const native = require(${JSON.stringify(join(root, 'build/Release/ipcast.node'))});
let a = 12345;
const rnd = () => { a = (a * 1103515245 + 12345) >>> 0; return a >>> 8; };
const buf = Buffer.alloc(200000);
for (let i = 0; i < buf.length; i++) buf[i] = rnd() & 255;
const out = [];
for (let i = 0; i < 400; i++) {
  const len = i < 100 ? i : i < 300 ? rnd() % 4000 : rnd() % 190000;
  const off = rnd() % 64;
  out.push(native.crc32c(buf.subarray(off, off + len)));
}
out.push(native.crc32c(Buffer.from('123456789')));
process.stdout.write(JSON.stringify(out));
`;

function run(env: Record<string, string>): number[] {
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' })) as number[];
}

describe('CRC-32C implementations', () => {
  it('hardware and portable agree on every length and alignment, and give the check value', () => {
    const hw = run({});
    const portable = run({ IPCAST_CRC32C: 'portable' });
    expect(hw).toEqual(portable);
    expect(hw.at(-1)).toBe(0xe3069283);
  });
});
