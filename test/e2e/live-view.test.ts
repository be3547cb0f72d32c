/**
 * The terminal view: LiveView redraws one block in place on a TTY and writes lines otherwise;
 * rates scale their unit; `ipcast recv` on a real pseudo-terminal (util-linux `script`) redraws
 * its table in place, and writes no escape sequence when stderr is a pipe.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

import { LiveView } from '../../src/shared/live-view.js';
import { formatByteRate } from '../../src/shared/units.js';
import { IPCAST_BIN, killAll, spawnIpcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';

const run = promisify(execFile);
afterEach(killAll);

function fakeOut(isTTY: boolean): { stream: NodeJS.WritableStream & { isTTY: boolean }; text: () => string } {
  let text = '';
  const stream = { isTTY, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean };
  return { stream, text: () => text };
}

describe('formatByteRate', () => {
  it('picks the unit that fits, three significant digits', () => {
    expect([0, 512, 88_200, 999_999, 1_250_000, 1.25e9].map(formatByteRate)).toEqual(['0 B/s', '512 B/s', '88.2 kB/s', '1.00 MB/s', '1.25 MB/s', '1.25 GB/s']);
  });
});

describe('LiveView', () => {
  it('on a TTY: each draw moves up over the last block and clears; a log line goes above the block', () => {
    const o = fakeOut(true);
    const v = new LiveView(o.stream);
    v.draw('a\nb');
    v.draw('c\nd');
    v.log('note');
    expect(o.text()).toBe('a\nb\n\x1b[2A\x1b[Jc\nd\n\x1b[2A\x1b[Jnote\nc\nd\n');
  });

  it('not a TTY: blocks and lines one after the other, no escapes', () => {
    const o = fakeOut(false);
    const v = new LiveView(o.stream);
    v.draw('a');
    v.log('note');
    v.draw('b');
    expect(o.text()).toBe('a\nnote\nb\n');
  });
});

describe('ipcast recv on a terminal', () => {
  it('redraws one table in place (under script(1)), in kB/s for a tone; line-based into a pipe', async () => {
    const port = await freePort('udp');
    const recvArgs = ['recv', `udp://@127.0.0.1:${port}`, '--exit-on-eos']; // ends at the tone's end of stream
    const onTty = run('script', ['-qfec', `${process.execPath} ${IPCAST_BIN} ${recvArgs.join(' ')}`, '/dev/null'], { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 2000)); // recv starting under script(1)
    const send = spawnIpcast(['send', 'tone:440:4', '--to', `udp://127.0.0.1:${port}`]);
    const { stdout } = await onTty;
    expect((await send.proc).exitCode).toBe(0);
    // Header, one row (pipe), the network line: each redraw goes 3 lines up and clears.
    const redraws = stdout.split('\x1b[3A\x1b[J').length - 1;
    expect(redraws, stdout).toBeGreaterThanOrEqual(2);
    expect(stdout).toMatch(/^pipe\s+\d+(\.\d+)? kB\/s\s+\d+/m);
    expect(stdout).toMatch(/ipcast recv: received \d+ chunks/);

    const port2 = await freePort('udp');
    const piped = spawnIpcast(['recv', `udp://@127.0.0.1:${port2}`, '--exit-on-eos']);
    await piped.waitFor(/listening on/);
    const send2 = spawnIpcast(['send', 'tone:440:2', '--to', `udp://127.0.0.1:${port2}`]);
    expect((await piped.proc).exitCode, piped.stderrText()).toBe(0);
    await send2.proc;
    expect(piped.stderrText()).not.toContain('\x1b[');
    expect(piped.stderrText()).not.toMatch(/^transport\s+rate/m);
  }, 40_000);

  it("what a decoder writes to stderr goes above the table (named by its transport) on a terminal, straight through into a pipe", async () => {
    const decoder = `sh -c 'sleep 1.5; echo decoder says hi >&2; cat > /dev/null'`;
    const port = await freePort('udp');
    const recvArgs = ['recv', `udp://@127.0.0.1:${port}`, '--exit-on-eos', '--exec', JSON.stringify(decoder)];
    const onTty = run('script', ['-qfec', `${process.execPath} ${IPCAST_BIN} ${recvArgs.join(' ')}`, '/dev/null'], { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 2000));
    const send = spawnIpcast(['send', 'tone:440:4', '--to', `udp://127.0.0.1:${port}`]);
    const { stdout } = await onTty;
    expect((await send.proc).exitCode).toBe(0);
    expect(stdout).toMatch(/(^|\x1b\[J)  pipe: decoder says hi\r?$/m);

    const port2 = await freePort('udp');
    const piped = spawnIpcast(['recv', `udp://@127.0.0.1:${port2}`, '--exit-on-eos', '--exec', decoder]);
    await piped.waitFor(/listening on/);
    const send2 = spawnIpcast(['send', 'tone:440:3', '--to', `udp://127.0.0.1:${port2}`]);
    expect((await piped.proc).exitCode, piped.stderrText()).toBe(0);
    await send2.proc;
    expect(piped.stderrText()).toMatch(/^decoder says hi$/m);
  }, 40_000);
});
