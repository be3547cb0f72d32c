/**
 * `ipcast send --http`: players open a channel by URL. ffprobe and ffmpeg (programs nobody
 * here wrote) read /channel/1 and the URL a player takes from /playlist.m3u, and count every
 * video frame of a test MPEG-TS; the bytes are the file's; /guide.json, 404, 405, 431 and the
 * HEAD answer; a client that reads nothing is dropped and counted, the others are served.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ipcast, killAll, spawnIpcast } from '../helpers/cli.js';
import { freePort } from '../helpers/procs.js';

const run = promisify(execFile);
const FRAMES = 75;
let dir: string;
let ts: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-http-'));
  ts = join(dir, 'test.ts');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', String(FRAMES), '-c:v', 'mpeg2video', '-b:v', '300k', '-f', 'mpegts', ts]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

/** A sender of the test TS holding its stream until one HTTP client is there. */
async function sendWithHttp(extra: string[] = []): Promise<{ base: string; send: ReturnType<typeof spawnIpcast> }> {
  const port = await freePort('tcp');
  const send = spawnIpcast(['send', ts, '--rate', '2M', '--to', `udp://127.0.0.1:${await freePort('udp')}`, '--http', String(port), '--wait-clients', '1', ...extra]);
  await send.waitFor(/http http:\/\/127\.0\.0\.1:\d+\/playlist\.m3u/);
  return { base: `http://127.0.0.1:${port}`, send };
}

/** A raw request; resolves with everything the server sent before it closed. */
function rawRequest(port: number, text: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(d));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(parts).toString('latin1')));
    sock.write(text);
  });
}

describe('ipcast send --http', () => {
  it('ffprobe counts every video frame of /channel/1', async () => {
    const { base, send } = await sendWithHttp();
    const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', `${base}/channel/1`], { timeout: 20_000 });
    expect(parseInt(stdout, 10)).toBe(FRAMES);
    expect(stderr).toBe(''); // chunked encoding: a clean end, no "Stream ends prematurely"
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it("ffmpeg decodes every frame from the URL a player takes from /playlist.m3u", async () => {
    const { base, send } = await sendWithHttp(['--name', 'Test Card']);
    // Read the playlist before any client of the stream: the sender is still waiting.
    const m3u = await (await fetch(`${base}/playlist.m3u`)).text();
    const lines = m3u.trim().split('\n');
    expect(lines[0]).toBe('#EXTM3U');
    expect(lines[1]).toBe('#EXTINF:-1,Test Card');
    const url = lines[2]!;
    expect(url).toBe(`${base}/channel/1`);
    const out = join(dir, 'copy.ts');
    const { stderr } = await run('ffmpeg', ['-v', 'info', '-nostats', '-i', url, '-map', '0:v', '-c', 'copy', '-f', 'mpegts', '-y', out], { timeout: 20_000 });
    expect(stderr).not.toMatch(/Stream ends prematurely|Error/i);
    const frames = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out], { encoding: 'utf8' });
    expect(parseInt(frames, 10)).toBe(FRAMES);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it('/channel/1 is byte-exact over HTTP/1.1 (chunked) and HTTP/1.0 (close-delimited), Content-Type video/mp2t', async () => {
    const want = createHash('sha256').update(readFileSync(ts)).digest('hex');
    const { base, send } = await sendWithHttp(['--wait-clients', '2']);
    const port = Number(new URL(base).port);
    const [r11, r10] = await Promise.all([
      rawRequest(port, 'GET /channel/1 HTTP/1.1\r\nHost: x\r\n\r\n'),
      rawRequest(port, 'GET /channel/1 HTTP/1.0\r\n\r\n'),
    ]);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
    const body = (resp: string): Buffer => Buffer.from(resp.slice(resp.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(r11).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r11).toMatch(/\r\nContent-Type: video\/mp2t\r\n/);
    expect(r11).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    expect(r10).not.toMatch(/Transfer-Encoding/);
    expect(createHash('sha256').update(body(r10)).digest('hex')).toBe(want);
    expect(createHash('sha256').update(unchunk(body(r11))).digest('hex')).toBe(want);
  }, 30_000);

  it('a folder of two channels: the playlist lists both, each /channel/N is its own file byte-exact', async () => {
    const folder = join(dir, 'two');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder, { recursive: true });
    const a = readFileSync(ts);
    const b = a.subarray(0, 300 * 188);
    writeFileSync(join(folder, 'a.ts'), a);
    writeFileSync(join(folder, 'b.ts'), b);
    const port = await freePort('tcp');
    const send = spawnIpcast(['send', folder, '--rate', '2M', '--http', String(port), '--wait-clients', '2']);
    await send.waitFor(/http http:/);
    const m3u = await (await fetch(`http://127.0.0.1:${port}/playlist.m3u`)).text();
    expect(m3u).toBe(`#EXTM3U\n#EXTINF:-1,a\nhttp://127.0.0.1:${port}/channel/1\n#EXTINF:-1,b\nhttp://127.0.0.1:${port}/channel/2\n`);
    const [one, two] = await Promise.all([1, 2].map((n) => fetch(`http://127.0.0.1:${port}/channel/${n}`).then((r) => r.arrayBuffer())));
    expect(Buffer.from(one!).equals(a)).toBe(true);
    expect(Buffer.from(two!).equals(b)).toBe(true);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it('/guide.json; 404 for other paths and channels; 405 for POST; 431 past the header limits; HEAD has no body', async () => {
    const { base, send } = await sendWithHttp(['--name', 'Card', '--channel', '7']);
    const port = Number(new URL(base).port);
    const guide = (await (await fetch(`${base}/guide.json`)).json()) as { channels: { id: number; name: string; url: string; bitrate: number }[] };
    expect(guide.channels).toEqual([expect.objectContaining({ id: 7, name: 'Card', url: `${base}/channel/7`, bitrate: 2_000_000 })]);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/channel/1`)).status).toBe(404);
    const post = await fetch(`${base}/channel/7`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const many = `GET /channel/7 HTTP/1.1\r\n${Array.from({ length: 40 }, (_, i) => `X-${i}: y\r\n`).join('')}\r\n`;
    expect(await rawRequest(port, many)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawRequest(port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawRequest(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    const head = await rawRequest(port, 'HEAD /playlist.m3u HTTP/1.1\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: audio\/x-mpegurl/);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    // None of these was a stream client: the sender still waits; one reader lets it finish.
    await fetch(`${base}/channel/7`).then((r) => r.arrayBuffer());
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it('--max-clients 1: a second stream client gets 503 while the first is served byte-exact', async () => {
    const { base, send } = await sendWithHttp(['--max-clients', '1']);
    const first = await fetch(`${base}/channel/1`);
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/channel/1`);
    expect(second.status).toBe(503);
    expect(await second.text()).toBe('too many clients\n');
    expect(Buffer.from(await first.arrayBuffer()).equals(readFileSync(ts))).toBe(true);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it('a client that joins a WAV stream late gets the WAV header first (audio/wav), and ffprobe reads it', async () => {
    const port = await freePort('tcp');
    const send = spawnIpcast(['send', 'tone', '--http', String(port)]);
    await send.waitFor(/http http:/);
    await new Promise((r) => setTimeout(r, 1000)); // the stream is a second in
    const got = await new Promise<string>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      const parts: Buffer[] = [];
      sock.on('data', (d: Buffer) => parts.push(d));
      sock.on('error', () => {});
      sock.write('GET /channel/1 HTTP/1.0\r\n\r\n');
      setTimeout(() => {
        sock.destroy();
        resolve(Buffer.concat(parts).toString('latin1'));
      }, 700);
    });
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: audio\/wav\r\n/);
    const body = Buffer.from(got.slice(got.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(body.subarray(0, 4).toString()).toBe('RIFF');
    const wav = join(dir, 'late.wav');
    writeFileSync(wav, body);
    expect(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate', '-of', 'csv=p=0', wav], { encoding: 'utf8' }).trim()).toBe('pcm_s16le,44100');
    send.proc.kill('SIGTERM');
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 30_000);

  it('a client that reads nothing is dropped and counted; another gets every byte', async () => {
    const port = await freePort('tcp');
    const metrics = await freePort('tcp');
    // 40 MB at 200 Mbit/s: the stalled client fills the kernel's buffers (some MB on loopback)
    // and then the 4 MiB bound of its queue within the first second or two.
    const big = join(dir, 'big.bin');
    const data = randomBytes(40e6);
    writeFileSync(big, data);
    const send = spawnIpcast(['send', big, '--rate', '200M', '--to', `udp://127.0.0.1:${await freePort('udp')}`, '--http', String(port), '--wait-clients', '2', '--metrics', String(metrics)]);
    await send.waitFor(/http http:/);
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    stalled.write('GET /channel/1 HTTP/1.0\r\n\r\n');
    stalled.pause(); // reads nothing
    const reader = rawRequest(port, 'GET /channel/1 HTTP/1.0\r\n\r\n');
    let slow = '';
    for (let i = 0; i < 200 && slow === '' && send.proc.exitCode === null; i++) {
      const text = await fetch(`http://127.0.0.1:${metrics}/metrics`).then((r) => r.text()).catch(() => '');
      slow = /ipcast_http_clients_dropped_total\{[^}]*reason="slow"[^}]*\} 1\n/.exec(text)?.[0] ?? '';
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(slow).not.toBe('');
    stalled.destroy();
    const got = await reader;
    const body = Buffer.from(got.slice(got.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(got).toMatch(/Content-Type: application\/octet-stream/);
    expect(body.equals(data)).toBe(true);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);
  }, 40_000);
});

describe('--http and --sdp usage', () => {
  it('one line and the exit code: a bad address (2), --sdp without rtp:// (2), a port in use (1)', async () => {
    const bad = await ipcast(['send', 'tone', '--http', 'abc']);
    expect([bad.exitCode, bad.stderr]).toEqual([2, "ipcast: --http expects [HOST:]PORT such as 9464 or 127.0.0.1:9464, got 'abc'"]);
    const sdp = await ipcast(['send', 'tone', '--to', 'udp://127.0.0.1:9', '--sdp', join(dir, 'x.sdp')]);
    expect([sdp.exitCode, sdp.stderr]).toEqual([2, 'ipcast: --sdp needs an rtp:// output']);
    const port = await freePort('tcp');
    const first = spawnIpcast(['send', 'tone', '--http', String(port)]);
    await first.waitFor(/http http:/);
    const busy = await ipcast(['recv', `udp://@127.0.0.1:${await freePort('udp')}`, '--http', String(port)]);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(/^ipcast: --http 127\.0\.0\.1:\d+: address already in use: .*\(EADDRINUSE\)$/);
  }, 30_000);
});

/** Chunked transfer encoding back to the bytes. */
function unchunk(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    const size = parseInt(buf.toString('latin1', off, eol), 16);
    if (!(size > 0)) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    off = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
