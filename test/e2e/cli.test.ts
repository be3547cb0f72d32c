import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/cli.js';
import { ipcast } from '../helpers/cli.js';

describe('ipcast CLI frame', () => {
  it('--help lists every subcommand and exits 0', async () => {
    const r = await ipcast(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of ['send', 'recv', 'guide', 'bench', 'demo', 'ipcs']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('no command prints usage on stderr and exits 2', async () => {
    const r = await ipcast([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Usage: ipcast <command>');
  });

  it.each(COMMANDS.map((c) => c.name))('ipcast %s --help prints its usage and exits 0', async (name) => {
    const r = await ipcast([name, '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: ipcast ${name}`));
    expect(r.stderr).toBe('');
  });

  const bad: Array<[string[], RegExp]> = [
    [['frobnicate'], /^ipcast: unknown command 'frobnicate'/],
    [['send', '--bogus'], /^ipcast: send: Unknown option '--bogus'/],
    [['recv', '--transport'], /^ipcast: recv: Option '--transport <value>' argument missing/],
    [['recv', 'udp://'], /^ipcast: bad URL 'udp:\/\/'/],
    [['recv', 'udp://@239.255.0.1:5004'], /must name its interface/],
    [['guide', 'tcp://127.0.0.1:99999'], /port must be 1\.\.65535/],
  ];
  it.each(bad)('%j exits 2 with one line and no stack trace', async (args, message) => {
    const r = await ipcast(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
