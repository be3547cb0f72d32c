/**
 * `--http` on recv and relay, and RTP through the relay: recv serves the channel it plays
 * byte-exact and ends the response at the end of stream; /udp/GROUP:PORT joins a group when the
 * first client comes and leaves it after the last (udpxy's way); a relay takes ffmpeg's RTP
 * in and gives the same payloads out over HTTP and as RTP of its own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

let dir: string;
let ts: string;
const open: Socket[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-http2-'));
  ts = join(dir, 'test.ts');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '75', '-c:v', 'mpeg2video', '-b:v', '300k', '-f', 'mpegts', ts]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await killAll();
});

/** An HTTP/1.0 GET whose body is collected; `done` resolves at the close, or once `until` bytes came. */
function get(port: number, path: string, until = Infinity): { done: Promise<{ head: string; body: Buffer }>; sock: Socket } {
  const sock = connect(port, '127.0.0.1');
  open.push(sock);
  sock.write(`GET ${path} HTTP/1.0\r\n\r\n`);
  const parts: Buffer[] = [];
  let size = 0;
  const done = new Promise<{ head: string; body: Buffer }>((resolve, reject) => {
    const finish = (): void => {
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, end).toString('latin1'), body: all.subarray(end + 4) });
    };
    sock.on('data', (d: Buffer) => {
      parts.push(d);
      size += d.length;
      if (size >= until) {
        sock.destroy();
        finish();
      }
    });
    sock.on('error', reject);
    sock.on('close', finish);
  });
  return { done, sock };
}

describe('ipcast recv --http', () => {
  it('/channel/1 is the played stream, byte-exact, ended at the end of stream; /udp/GROUP:PORT joins on the first client and leaves after the last; a third client past --max-clients 2 gets 503', async () => {
    const [port, http] = [await freePort('udp'), await freePort('tcp')];
    const recv = spawnIpcast(['recv', `udp://@127.0.0.1:${port}`, '--http', String(http), '--max-clients', '2', '--exit-on-eos']);
    await recv.waitFor(/listening on .*through JS.*http http:\/\/127\.0\.0\.1:\d+\/playlist\.m3u/);
    const channel = get(http, '/channel/1');
    // A raw multicast source (as ffmpeg or a head end sends it), read through /udp/ while it streams.
    const rawPort = await freePort('udp');
    const group = `239.255.${(rawPort >> 8) & 0xff}.${rawPort & 0xff}`;
    const data = randomBytes(200 * 1316);
    const raw = join(dir, 'raw.bin');
    writeFileSync(raw, data);
    const udp = get(http, `/udp/${group}:${rawPort}`, data.length + 200);
    await recv.waitFor(new RegExp(`/udp/${group}:${rawPort}: joined on 127\\.0\\.0\\.1`));
    // Two stream clients are served (--max-clients 2): a third is refused.
    expect((await get(http, '/channel/1').done).head).toMatch(/^HTTP\/1\.[01] 503 /);
    const rawSend = spawnIpcast(['send', raw, '--format', 'raw', '--rate', '4M', '--to', `udp://${group}:${rawPort}?iface=127.0.0.1`]);
    expect((await rawSend.proc).exitCode, rawSend.stderrText()).toBe(0);
    // Then the played stream, whose end of stream ends recv (and every response).
    const send = spawnIpcast(['send', ts, '--rate', '2M', '--to', `udp://127.0.0.1:${port}`]);
    expect((await send.proc).exitCode, send.stderrText()).toBe(0);

    const c = await channel.done;
    expect(c.head).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: video\/mp2t/);
    expect(createHash('sha256').update(c.body).digest('hex')).toBe(createHash('sha256').update(readFileSync(ts)).digest('hex'));
    expect((await recv.proc).exitCode, recv.stderrText()).toBe(0);

    const u = await udp.done;
    expect(u.head).toMatch(/Content-Type: application\/octet-stream/);
    expect(u.body.length).toBe(data.length);
    expect(u.body.equals(data)).toBe(true);
    expect(recv.stderrText()).toMatch(new RegExp(`/udp/${group}:${rawPort}: left`));
  }, 40_000);
});

describe('ipcast relay: RTP in, HTTP and RTP out', () => {
  it("ffmpeg's RTP into the relay comes out byte-exact over HTTP and as RTP (PT 33, its own consecutive numbers)", async () => {
    const [tap, rtpIn, rtpOut, http] = [await freePort('udp'), await freePort('udp'), await freePort('udp'), await freePort('tcp')];
    const sdp = join(dir, 'relay.sdp');
    const relay = spawnIpcast(['relay', `rtp://@127.0.0.1:${rtpIn}`, '--to', `rtp://127.0.0.1:${rtpOut}`, '--sdp', sdp, '--http', String(http)]);
    await relay.waitFor(/http http:/);
    const out: Buffer[] = [];
    const outSock = dgram.createSocket('udp4');
    outSock.on('message', (m) => out.push(m));
    await new Promise<void>((r) => outSock.bind(rtpOut, '127.0.0.1', r));
    // ffmpeg -> the test (which keeps each payload) -> the relay.
    const payloads: Buffer[] = [];
    const tapSock = dgram.createSocket('udp4');
    tapSock.on('message', (m) => {
      payloads.push(m.subarray(12));
      tapSock.send(m, rtpIn, '127.0.0.1');
    });
    await new Promise<void>((r) => tapSock.bind(tap, '127.0.0.1', r));
    const channel = get(http, '/channel/1', readFileSync(ts).length + 200);
    await new Promise((r) => setTimeout(r, 200));
    const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-re', '-i', ts, '-c', 'copy', '-f', 'rtp_mpegts', `rtp://127.0.0.1:${tap}`], { stdio: 'ignore' });
    await new Promise((r) => ffmpeg.on('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    tapSock.close();
    outSock.close();
    await relay.proc.kill('SIGTERM');
    expect((await relay.proc).exitCode, relay.stderrText()).toBe(0);
    const sent = Buffer.concat(payloads);
    expect(sent.length).toBeGreaterThan(100_000);
    const c = await channel.done;
    expect(c.body.equals(sent)).toBe(true);
    expect(Buffer.concat(out.map((p) => p.subarray(12))).equals(sent)).toBe(true);
    for (const [i, p] of out.entries()) {
      expect(p[0]).toBe(0x80);
      expect(p[1]! & 0x7f).toBe(33);
      if (i > 0) expect(p.readUInt16BE(2)).toBe((out[i - 1]!.readUInt16BE(2) + 1) & 0xffff);
    }
    expect(readFileSync(sdp, 'utf8')).toMatch(new RegExp(`m=video ${rtpOut} RTP/AVP 33`));
    expect(relay.stderrText()).toMatch(/lost 0; reordered 0; duplicates 0; decode errors 0/);
    // The HTTP output counts what it handed its one client: every payload, once.
    const httpOut = new RegExp(`http://127\\.0\\.0\\.1:${http}/: (\\d+) chunks \\((\\d+) bytes\\)`).exec(relay.stderrText());
    expect(httpOut, relay.stderrText()).not.toBeNull();
    expect(Number(httpOut![1])).toBe(payloads.length);
  }, 40_000);
});
