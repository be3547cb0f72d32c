/**
 * Real media through ipcast, decoded by programs nobody here wrote: ffmpeg encodes a test
 * signal, ipcast carries it, mpg123 / ffmpeg / ffprobe decode it as the child.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

let dir: string;
let mp3: string;
const SECONDS = 3;
const children: ChildProcess[] = [];

function durationOf(path: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return Number(out.trim());
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-media-'));
  mp3 = join(dir, 'sine.mp3');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${SECONDS}`, '-c:a', 'libmp3lame', '-b:a', '128k', mp3]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await killAll();
});

const decoders = {
  pipe: (out: string) => `mpg123 -q -w ${out} -`,
  shm: (out: string) => `ffmpeg -v error -f mp3 -i - -y ${out}`,
  msg: (out: string) => `mpg123 -q -w ${out} -`,
} as const;

describe.each(Object.keys(decoders) as Array<keyof typeof decoders>)('an MP3 over TCP into %s', (transport) => {
  it(`is decoded to ${SECONDS} s of audio`, async () => {
    const port = await freePort('tcp');
    const wav = join(dir, `out-${transport}.wav`);
    // No --rate: ipcast measures it from the MP3 frame headers.
    const send = spawnIpcast(['send', mp3, '--wait-clients', '1', '--to', `tcp://127.0.0.1:${port}`]);
    await send.waitFor(/measured from the MP3[^\n]*\n[^\n]*waiting/);
    const recv = spawnIpcast(['recv', `tcp://127.0.0.1:${port}`, '--transport', transport, '--exec', decoders[transport](wav), '--exit-on-eos']);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);
    expect(durationOf(wav)).toBeGreaterThan(SECONDS - 0.1);
    expect(durationOf(wav)).toBeLessThan(SECONDS + 0.2);
  }, 30_000);
});

describe('raw interop', () => {
  it('ffmpeg sends MPEG-TS over UDP; ipcast recv --format raw forwards it to ffprobe, which finds the streams', async () => {
    const port = await freePort('udp');
    const recv = spawnIpcast([
      'recv', `udp://@127.0.0.1:${port}`, '--format', 'raw', '--transport', 'shm',
      '--exec', 'ffprobe -v error -count_packets -show_entries stream=codec_type,nb_read_packets -of csv=p=0 -f mpegts -i -',
      // A raw stream ends by its silence. 3 s: ffmpeg (lavfi, two encoders) once took over 1 s to
      // send its first packet on a loaded machine, and recv had ended with nothing.
      '--idle-timeout', '3', '--exit-on-eos',
    ]);
    await recv.waitFor(/listening on/);
    const ffmpeg = spawn('ffmpeg', [
      '-v', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=2',
      '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
      '-c:v', 'mpeg2video', '-c:a', 'mp2', '-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`,
    ], { stdio: 'ignore' });
    children.push(ffmpeg);
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    const lines = recv.stdoutText().trim().split('\n');
    const video = lines.find((l) => l.startsWith('video,'));
    const audio = lines.find((l) => l.startsWith('audio,'));
    expect(video, recv.stdoutText()).toBeDefined();
    expect(audio, recv.stdoutText()).toBeDefined();
    expect(Number(video!.split(',')[1])).toBeGreaterThanOrEqual(40); // 2 s at 25 fps
  }, 30_000);
});
