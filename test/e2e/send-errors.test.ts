/**
 * Each bad input gives one line on stderr, no stack trace, and its exit code:
 * 2 for what the user can fix on the command line, 1 for a failure while running.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, runSend } from '../helpers/sender.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';
import { withoutReadAnything } from '../helpers/privileges.js';

let dir: string;
let server: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-send-err-'));
  writeFileSync(join(dir, 'noise.bin'), Buffer.alloc(5000, 7));
  mkdirSync(join(dir, 'locked'));
  writeFileSync(join(dir, 'locked', 'a.bin'), 'x');
  chmodSync(join(dir, 'locked'), 0o000);
  mkdirSync(join(dir, 'empty'));
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  busyPort = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await killAll();
  chmodSync(join(dir, 'locked'), 0o755);
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((r) => server.close(() => r()));
});

async function expectFailure(args: string[], code: 1 | 2, line: RegExp): Promise<void> {
  const r = await runSend(args, 10_000).result;
  expect(r.stderr).toMatch(line);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(code);
}

const UDP = 'udp://127.0.0.1:9';

describe('ipcast send: bad input', () => {
  it('a missing file: exit 1', () =>
    expectFailure([join(dir, 'nope.mp3'), '--to', UDP], 1, /^ipcast: source: no such file or directory: .*nope\.mp3 \(ENOENT\)\n$/));

  // Root reads any folder: the sender runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
  // (same uid, so it still reads a 0700 checkout). An ordinary user needs no drop.
  const dropRead = withoutReadAnything();
  it.skipIf(dropRead === undefined)(`an unreadable folder: exit 1${dropRead ? '' : ' (needs setpriv to drop CAP_DAC_OVERRIDE)'}`, async () => {
    const send = spawnIpcast(['send', join(dir, 'locked'), '--rate', '1M', '--to', UDP], { cwd: ROOT, wrap: dropRead!, timeoutMs: 20_000 });
    const { exitCode } = await send.proc;
    expect(send.stderrText()).toMatch(/^ipcast: source folder: permission denied: .*locked \(EACCES\)\n$/);
    expect(exitCode).toBe(1);
  });

  it('--channel with a folder (the flag named, not the library option): exit 2', () =>
    expectFailure([dir, '--channel', '2', '--rate', '1M', '--to', UDP], 2, /^ipcast: --channel and --name apply to a single source; a folder numbers its channels from 1\n$/));

  it('a folder with no channels: exit 1', () =>
    expectFailure([join(dir, 'empty'), '--rate', '1M', '--to', UDP], 1, /^ipcast: source folder .*empty has no channels/));

  it('a bad URL: exit 2', () =>
    expectFailure(['tone', '--to', 'udp://239.255.0.1:5004'], 2, /^ipcast: bad URL 'udp:\/\/239\.255\.0\.1:5004': a multicast URL must name its interface/));

  it('a bad scheme: exit 2', () => expectFailure(['tone', '--to', 'http://127.0.0.1:80'], 2, /^ipcast: bad URL .*unsupported scheme 'http'/));

  it('a TCP port in use: exit 1', () =>
    expectFailure(['tone', '--to', `tcp://127.0.0.1:${busyPort}`], 1, new RegExp(`^ipcast: tcp://127\\.0\\.0\\.1:${busyPort}: address already in use: 127\\.0\\.0\\.1:${busyPort} \\(EADDRINUSE\\)`)));

  it('an interface address that is not on this machine: exit 2 (nothing is sent)', () =>
    expectFailure(['tone', '--to', 'udp://239.255.0.1:5004?iface=198.51.100.77'], 2, /^ipcast: udp:\/\/.*: interface address 198\.51\.100\.77 is not on this machine\n$/));

  it('a rate of zero: exit 2', () => expectFailure(['tone', '--rate', '0', '--to', UDP], 2, /^ipcast: --rate must be above zero, got '0'\n$/));

  it('a source whose rate cannot be told, without --rate: exit 2, asking for --rate', () =>
    expectFailure([join(dir, 'noise.bin'), '--to', UDP], 2, /^ipcast: cannot tell the bitrate of channel 1 'noise' .*give --rate/));

  it('a chunk that does not fit a datagram: exit 2', () =>
    expectFailure(['tone', '--chunk', '65476', '--to', UDP], 2, /^ipcast: --chunk 65476 does not fit one UDP datagram: at most 65475 bytes/));

  it('no output: exit 2', () => expectFailure(['tone'], 2, /^ipcast: send: no outputs: give at least one --to URL/));

  it('no source: exit 2', () => expectFailure(['--to', UDP], 2, /^ipcast: send: missing SOURCE/));

  it('a bad tone: exit 2', () => expectFailure(['tone:abc', '--to', UDP], 2, /^ipcast: tone frequency must be a whole number of Hz/));

  it('raw format with a folder of several channels: exit 2', async () => {
    const folder = join(dir, 'two');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.bin'), 'a');
    writeFileSync(join(folder, 'b.bin'), 'b');
    await expectFailure([folder, '--format', 'raw', '--rate', '1M', '--to', UDP], 2, /^ipcast: --format raw carries one channel; this source has 2/);
  });

  it('--wait-clients without a TCP output: exit 2', () =>
    expectFailure(['tone', '--wait-clients', '1', '--to', UDP], 2, /^ipcast: --wait-clients needs a tcp:\/\/ output/));

  it('--help is the truth and exits 0', async () => {
    const r = await runSend(['--help']).result;
    expect(r.code).toBe(0);
    for (const flag of ['--to', '--rate', '--burst', '--chunk', '--format', '--loop', '--channel', '--name', '--wait-clients', '--max-clients']) {
      expect(r.stdout).toContain(flag);
    }
  });
});
