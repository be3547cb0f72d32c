/**
 * RTP out and in against programs nobody here wrote: ffmpeg reads ipcast's RTP through the SDP
 * file it wrote; GStreamer (rtpjitterbuffer ! rtpmp2tdepay ! tsdemux) decodes it from a group
 * on lo; ffmpeg's `-f rtp_mpegts` reaches the decoder behind `ipcast recv rtp://@…` byte-exact;
 * and RTP sequence numbers drive recv's loss / reorder / duplicate counts.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/procs.js';
import { killAll, spawnIpcast } from '../helpers/cli.js';

const run = promisify(execFile);
let dir: string;
let ts: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ipcast-rtp-'));
  ts = join(dir, 'test.ts');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '75', '-c:v', 'mpeg2video', '-b:v', '300k', '-f', 'mpegts', ts]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

async function waitForFile(path: string, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`no ${path} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return readFileSync(path, 'utf8');
}

/** Collects datagrams on a loopback port for `ms` from the first one (at most 15 s of waiting for it). */
function capture(port: number, ms: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    const done = (): void => void sock.close(() => resolve(got));
    const giveUp = setTimeout(done, 15_000);
    sock.on('message', (m) => {
      if (got.push(m) === 1) {
        clearTimeout(giveUp);
        setTimeout(done, ms);
      }
    });
    sock.on('error', reject);
    sock.bind(port, '127.0.0.1');
  });
}

describe('RTP out', () => {
  it('ffmpeg decodes ipcast RTP through the SDP file it wrote; headers are RFC 3550 + RFC 2250', async () => {
    const port = await freePort('udp');
    const sdp = join(dir, 'out.sdp');
    const send = spawnIpcast(['send', ts, '--loop', '--rate', '1M', '--to', `rtp://127.0.0.1:${port}`, '--sdp', sdp]);
    const text = await waitForFile(sdp);
    expect(text).toMatch(new RegExp(`^v=0\\r\\n[^]*\\r\\nc=IN IP4 127\\.0\\.0\\.1\\r\\n[^]*m=video ${port} RTP/AVP 33\\r\\n[^]*a=rtpmap:33 MP2T/90000\\r\\n`));
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-frames:v', '50', '-f', 'null', '-'], { timeout: 20_000 });
    expect(stderr).toMatch(/Stream #0:0: Video: mpeg2video/);
    expect(stderr).toMatch(/frame=\s*50 /);
    await send.proc.kill('SIGTERM');
  }, 30_000);

  it('the packets: version 2, PT 33, consecutive sequence numbers, 90 kHz timestamps from the pacing clock, one SSRC', async () => {
    const port = await freePort('udp');
    const got = capture(port, 1500);
    const send = spawnIpcast(['send', ts, '--loop', '--rate', '1052800', '--to', `rtp://127.0.0.1:${port}`]);
    const packets = await got;
    await send.proc.kill('SIGTERM');
    expect(packets.length).toBeGreaterThan(50); // 100 chunks/s of 1316 bytes
    for (const [i, p] of packets.entries()) {
      expect(p[0]).toBe(0x80);
      expect(p[1]! & 0x7f).toBe(33);
      expect(p.length).toBe(12 + 1316);
      expect(p[12]).toBe(0x47);
      if (i === 0) continue;
      const prev = packets[i - 1]!;
      expect(p.readUInt16BE(2)).toBe((prev.readUInt16BE(2) + 1) & 0xffff);
      expect(p.readUInt32BE(8)).toBe(prev.readUInt32BE(8));
    }
    // 1316 bytes at 1,052,800 bit/s: one chunk every 10 ms = 900 ticks of 90 kHz, on average.
    const first = packets[0]!;
    const last = packets[packets.length - 1]!;
    const perPacket = ((last.readUInt32BE(4) - first.readUInt32BE(4)) >>> 0) / (packets.length - 1);
    expect(perPacket).toBeGreaterThan(800);
    expect(perPacket).toBeLessThan(1000);
  }, 30_000);

  it('GStreamer (udpsrc on lo ! rtpjitterbuffer ! rtpmp2tdepay ! tsdemux ! mpegvideoparse) takes 40 frames from a multicast group', async () => {
    const port = await freePort('udp');
    const group = `239.255.${(port >> 8) & 0xff}.${port & 0xff}`;
    const send = spawnIpcast(['send', ts, '--loop', '--rate', '1M', '--to', `rtp://${group}:${port}?iface=127.0.0.1`]);
    const { stdout } = await run(
      'gst-launch-1.0',
      [
        '-v', 'udpsrc', `address=${group}`, `port=${port}`, 'multicast-iface=lo',
        'caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=MP2T,payload=33',
        '!', 'rtpjitterbuffer', '!', 'rtpmp2tdepay', '!', 'tsdemux', '!', 'mpegvideoparse', '!', 'fakesink', 'silent=false', 'num-buffers=40',
      ],
      { timeout: 20_000 },
    );
    await send.proc.kill('SIGTERM');
    expect(stdout).toMatch(/Got EOS from element "pipeline0"/);
    const frames = stdout.match(/fakesink0: last-message = chain .*GstMpegVideoMeta/g) ?? [];
    expect(frames.length).toBe(40);
  }, 30_000);
});

describe('RTP in', () => {
  it("ffmpeg -f rtp_mpegts into ipcast recv rtp://@127.0.0.1:PORT reaches the decoder byte-exact", async () => {
    const [tap, port] = [await freePort('udp'), await freePort('udp')];
    // RTP has no end of stream: 3 s without data ends it (more than ffmpeg takes to start on a loaded machine).
    const recv = spawnIpcast(['recv', `rtp://@127.0.0.1:${port}`, '--transport', 'pipe', '--exec', 'sha256sum', '--idle-timeout', '3', '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    // The test stands between ffmpeg and recv: it keeps each payload as ffmpeg sent it and passes the datagram on.
    const payloads: Buffer[] = [];
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m) => {
      expect(m[0]! & 0x3f).toBe(0); // no CSRC, no extension, no padding: the payload starts at 12
      payloads.push(m.subarray(12));
      sock.send(m, port, '127.0.0.1');
    });
    await new Promise<void>((r) => sock.bind(tap, '127.0.0.1', r));
    const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-re', '-i', ts, '-c', 'copy', '-f', 'rtp_mpegts', `rtp://127.0.0.1:${tap}`], { stdio: 'ignore' });
    await new Promise((r) => ffmpeg.on('exit', r));
    const r = await recv.proc;
    sock.close();
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(payloads.length).toBeGreaterThan(50);
    const want = createHash('sha256').update(Buffer.concat(payloads)).digest('hex');
    expect(recv.stdoutText().trim()).toBe(`${want}  -`);
    expect(recv.stderrText()).toMatch(new RegExp(`received ${payloads.length} chunks .*; lost 0; reordered 0; duplicates 0; .*decode errors 0`));
  }, 30_000);

  it('RTP sequence numbers drive loss, reorder and duplicate counts (across the 16-bit wrap); a bad header is counted', async () => {
    const port = await freePort('udp');
    // The idle timeout ends the stream after the last packet; long enough that a loaded machine
    // never ends it between two of them (a new stream would start its count over).
    const recv = spawnIpcast(['recv', `rtp://@127.0.0.1:${port}`, '--transport', 'pipe', '--exec', 'sha256sum', '--idle-timeout', '3', '--exit-on-eos']);
    await recv.waitFor(/listening on/);
    const packet = (seq: number, fill: number): Buffer => {
      const p = Buffer.alloc(12 + 188, fill);
      p[0] = 0x80;
      p[1] = 33;
      p.writeUInt16BE(seq & 0xffff, 2);
      p.writeUInt32BE(seq * 900, 4);
      p.writeUInt32BE(0x1234, 8);
      p[12] = 0x47;
      return p;
    };
    // 65530..65545 (wrapping to 9): 65533 lost, 65536 (=0) and 65537 swapped, 65540 twice, one version-1 packet.
    const order = [65530, 65531, 65532, 65534, 65535, 65537, 65536, 65538, 65539, 65540, 65540, -1, 65541, 65542, 65543, 65544, 65545];
    const sock = dgram.createSocket('udp4');
    for (const seq of order) {
      const p = seq < 0 ? Buffer.from([0x40, 33, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x47]) : packet(seq, seq & 0xff);
      await new Promise<void>((r) => sock.send(p, port, '127.0.0.1', () => r()));
      await new Promise((r) => setTimeout(r, 2));
    }
    sock.close();
    const r = await recv.proc;
    expect(r.exitCode, recv.stderrText()).toBe(0);
    expect(recv.stderrText()).toMatch(/lost 1; reordered 1; duplicates 1; .*decode errors rtp_bad_version=1;/);
    const delivered = [...new Set(order.filter((s) => s >= 0))].sort((a, b) => a - b);
    const want = createHash('sha256').update(Buffer.concat(delivered.map((s) => packet(s, s & 0xff).subarray(12)))).digest('hex');
    expect(recv.stdoutText().trim()).toBe(`${want}  -`);
  }, 30_000);
});
