/**
 * The native UDP path (native/udp_binding.cc): the input that receives with recvmmsg and checks
 * each ipcast header and CRC in C, and the output that sends with sendmmsg. Real sockets on
 * 127.0.0.1; every socket opened here is closed in afterEach.
 */
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { openUdpInput, type UdpInput } from '../../src/receiver/inputs/udp-input.js';
import { UdpOutput } from '../../src/sender/outputs/udp.js';
import { encodeData } from '../../src/sender/encode-data.js';
import { RuntimeError } from '../../src/shared/errors.js';
import { HEADER_BYTES, Kind, decodeChunk, encodeChunk, type DecodeResult } from '../../src/shared/protocol.js';
import { parseEndpoint, type UdpEndpoint } from '../../src/shared/url.js';
import { freePort } from '../helpers/procs.js';

interface Got {
  buf: Buffer;
  decoded: DecodeResult | undefined;
}

const inputs: UdpInput[] = [];
const outputs: UdpOutput[] = [];
const sockets: dgram.Socket[] = [];

afterEach(async () => {
  await Promise.all(inputs.splice(0).map((i) => i.close()));
  await Promise.all(outputs.splice(0).map((o) => o.close([])));
  for (const s of sockets.splice(0)) s.close();
});

function recvEp(url: string): UdpEndpoint {
  return parseEndpoint(url, 'recv') as UdpEndpoint;
}

async function open(url: string, decode: boolean, onDatagram?: (g: Got) => void): Promise<{ input: UdpInput; got: Got[]; warnings: string[] }> {
  const got: Got[] = [];
  const warnings: string[] = [];
  const input = await openUdpInput(
    recvEp(url),
    {
      datagram: (buf, _from, decoded) => {
        const g = { buf, decoded };
        got.push(g);
        onDatagram?.(g);
      },
      warning: (m) => warnings.push(m),
    },
    { decode },
  );
  inputs.push(input);
  return { input, got, warnings };
}

async function sender(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

function send(s: dgram.Socket, buf: Buffer, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => s.send(buf, port, host, (err) => (err ? reject(err) : resolve())));
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function chunk(seq: number, payload: Buffer, kind: Kind = Kind.Data): Buffer {
  return encodeChunk({ kind, channel: 7, sequence: seq, timestampUs: 1_700_000_000_000_000 + seq, flags: 0 }, payload);
}

function payloadOf(seq: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  return b;
}

/** Deep equality of two decode results (toEqual on 64 KiB buffers is slow). */
function same(a: DecodeResult | undefined, b: DecodeResult): boolean {
  if (!a || a.ok !== b.ok) return false;
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.reason === b.reason;
  const { payload: pa, ...ha } = a.chunk;
  const { payload: pb, ...hb } = b.chunk;
  return JSON.stringify(ha) === JSON.stringify(hb) && pa.equals(pb);
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('native UDP input', () => {
  it('is the IPv4 default, and decodes exactly what decodeChunk decodes, byte for byte', async () => {
    const port = await freePort();
    const { input, got } = await open(`udp://@127.0.0.1:${port}`, true);
    expect(input.impl).toBe('native');
    const s = await sender();
    const sent: Buffer[] = [];
    // Bursts larger than one recvmmsg batch (64), a few sizes including the datagram limit.
    const sizes = [1316, 1, 0, 188, 65475, 1316];
    for (let i = 0; i < 600; i++) {
      const c = chunk(i, payloadOf(i, sizes[i % sizes.length]!));
      sent.push(c);
      await send(s, c, port);
    }
    await until(() => got.length === sent.length);
    for (let i = 0; i < sent.length; i++) {
      const g = got[i]!;
      expect(g.buf.equals(sent[i]!)).toBe(true);
      expect(same(g.decoded, decodeChunk(sent[i]!))).toBe(true);
    }
  });

  it('hands over payloads that stay valid after later batches (each batch owns its bytes)', async () => {
    const port = await freePort();
    const { got } = await open(`udp://@127.0.0.1:${port}`, true);
    const s = await sender();
    for (let i = 0; i < 300; i++) await send(s, chunk(i, payloadOf(i, 1316)), port);
    await until(() => got.length === 300);
    const all = Buffer.concat(got.map((g) => (g.decoded?.ok ? g.decoded.chunk.payload : Buffer.alloc(0))));
    const want = Buffer.concat(Array.from({ length: 300 }, (_, i) => payloadOf(i, 1316)));
    expect(all.equals(want)).toBe(true);
  });

  it('counts garbage by reason and keeps going', async () => {
    const port = await freePort();
    const { got } = await open(`udp://@127.0.0.1:${port}`, true);
    const s = await sender();
    const good = chunk(1, payloadOf(1, 100));
    const badCrc = Buffer.from(good);
    badCrc[HEADER_BYTES + 5]! ^= 0xff;
    const badMagic = Buffer.from(good);
    badMagic[0] = 0;
    const badVersion = Buffer.from(good);
    badVersion[4] = 9;
    const badKind = Buffer.from(good);
    badKind[5] = 99;
    const truncated = good.subarray(0, good.length - 1);
    for (const b of [Buffer.from('hello'), Buffer.alloc(0), badCrc, badMagic, badVersion, badKind, truncated, good]) await send(s, b, port);
    await until(() => got.length === 8);
    expect(got.map((g) => (g.decoded!.ok ? 'ok' : g.decoded!.reason))).toEqual([
      'too_short',
      'too_short',
      'checksum_mismatch',
      'bad_magic',
      'bad_version',
      'unknown_kind',
      'length_mismatch',
      'ok',
    ]);
    // and each agrees with the TypeScript decoder
    for (const g of got) expect(same(g.decoded, decodeChunk(g.buf))).toBe(true);
  });

  it('without decode hands datagrams over whole (raw format)', async () => {
    const port = await freePort();
    const { got } = await open(`udp://@127.0.0.1:${port}`, false);
    const s = await sender();
    await send(s, Buffer.from('bare payload'), port);
    await until(() => got.length === 1);
    expect(got[0]!.buf.toString()).toBe('bare payload');
    expect(got[0]!.decoded).toBeUndefined();
  });

  it('joins a group on interface 127.0.0.1; two receivers share the port; the native output sends to it', async () => {
    const port = await freePort();
    const group = `239.255.${(port >> 8) & 0xff}.${port & 0xff}`;
    const a = await open(`udp://@${group}:${port}?iface=127.0.0.1`, true);
    const b = await open(`udp://@${group}:${port}?iface=127.0.0.1`, true);
    const out = new UdpOutput(parseEndpoint(`udp://${group}:${port}?iface=127.0.0.1&ttl=0`, 'send') as UdpEndpoint);
    outputs.push(out);
    await out.open();
    for (let i = 0; i < 100; i++) out.send(chunk(i, payloadOf(i, 1316)));
    await until(() => a.got.length === 100 && b.got.length === 100);
    expect(a.got.every((g, i) => g.decoded?.ok && g.decoded.chunk.sequence === i)).toBe(true);
    expect(out.stats.chunks).toBe(100);
    expect(out.stats.sendErrors).toBe(0);
  });

  it('a source-specific join gets only that source', async () => {
    const port = await freePort();
    const group = `232.1.${(port >> 8) & 0xff}.${port & 0xff}`;
    const yes = await open(`udp://@${group}:${port}?iface=127.0.0.1&source=127.0.0.1`, true);
    const no = await open(`udp://@${group}:${port}?iface=127.0.0.1&source=127.0.0.2`, true);
    const out = new UdpOutput(parseEndpoint(`udp://${group}:${port}?iface=127.0.0.1`, 'send') as UdpEndpoint);
    outputs.push(out);
    await out.open();
    for (let i = 0; i < 10; i++) out.send(chunk(i, payloadOf(i, 100)));
    await until(() => yes.got.length === 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(no.got.length).toBe(0);
  });

  it('a busy port is the CLI error "cannot listen on URL: address already in use"', async () => {
    const port = await freePort();
    await open(`udp://@127.0.0.1:${port}`, true);
    const err = await open(`udp://@127.0.0.1:${port}`, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toBe(
      `cannot listen on udp://@127.0.0.1:${port}: address already in use: 127.0.0.1:${port} (EADDRINUSE)`,
    );
    expect(((err as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('closing while a flood is arriving stops the callbacks at once; closing twice is fine', async () => {
    const port = await freePort();
    let afterClose = 0;
    let closed = false;
    const { input, got } = await open(`udp://@127.0.0.1:${port}`, true, () => {
      if (closed) afterClose++;
      // close from inside a batch: the rest of that batch may still be delivered, nothing after
    });
    const s = await sender();
    const c = chunk(0, payloadOf(0, 1316));
    let stop = false;
    const flood = (async () => {
      for (let i = 0; i < 20_000 && !stop; i++) {
        s.send(c, port, '127.0.0.1');
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
    })();
    await until(() => got.length > 500);
    await input.close();
    closed = true;
    const n = got.length;
    await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await flood;
    expect(got.length).toBe(n);
    expect(afterClose).toBe(0);
    await input.close();
  });

  it('closing from inside the datagram handler is safe', async () => {
    const port = await freePort();
    let input: UdpInput | undefined;
    let calls = 0;
    const opened = await open(`udp://@127.0.0.1:${port}`, true, () => {
      calls++;
      void input?.close();
    });
    input = opened.input;
    const s = await sender();
    for (let i = 0; i < 100; i++) s.send(chunk(i, payloadOf(i, 100)), port, '127.0.0.1');
    await until(() => calls > 0);
    await new Promise((r) => setTimeout(r, 50));
    // at most the rest of the first batch after the close
    expect(calls).toBeLessThanOrEqual(64);
  });

  it('leaks no file descriptor over many open/receive/close cycles', async () => {
    const before = fdCount();
    const s = await sender();
    for (let i = 0; i < 50; i++) {
      const port = await freePort();
      const { input, got } = await open(`udp://@127.0.0.1:${port}?rcvbuf=65536`, true);
      await send(s, chunk(i, payloadOf(i, 10)), port);
      await until(() => got.length === 1);
      await input.close();
      inputs.pop();
    }
    expect(fdCount()).toBe(before + 1); // the sender socket
  });

  it('reports the kernel drop counter of its own socket', async () => {
    const port = await freePort();
    const { input } = await open(`udp://@127.0.0.1:${port}`, true);
    expect(input.kernelDrops()).toBe(0);
  });
});

describe('native UDP output', () => {
  it('sends many datagrams in sendmmsg batches, in order, counted', async () => {
    const port = await freePort();
    const { got } = await open(`udp://@127.0.0.1:${port}?rcvbuf=4194304`, true);
    const out = new UdpOutput(parseEndpoint(`udp://127.0.0.1:${port}`, 'send') as UdpEndpoint);
    outputs.push(out);
    await out.open();
    for (let i = 0; i < 1000; i++) {
      out.send(chunk(i, payloadOf(i, 1316)), i === 0);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await until(() => got.length === 1000);
    expect(got.map((g) => (g.decoded?.ok ? g.decoded.chunk.sequence : -1))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(out.stats).toMatchObject({ chunks: 1000, bytes: 1000 * (1316 + HEADER_BYTES), guides: 1, sendErrors: 0, inflight: 0 });
  });

  it('counts a datagram the kernel refuses (EMSGSIZE) and sends the rest', async () => {
    const port = await freePort();
    const { got } = await open(`udp://@127.0.0.1:${port}`, false);
    const out = new UdpOutput(parseEndpoint(`udp://127.0.0.1:${port}`, 'send') as UdpEndpoint);
    outputs.push(out);
    await out.open();
    out.send(Buffer.from('a'));
    out.send(Buffer.alloc(70_000));
    out.send(Buffer.from('b'));
    await until(() => got.length === 2);
    expect(got.map((g) => g.buf.toString())).toEqual(['a', 'b']);
    expect(out.stats.sendErrors).toBe(1);
    expect(out.stats.errorsByCode).toEqual({ EMSGSIZE: 1 });
  });
});

describe('encodeData (the sender, checksummed by the addon)', () => {
  it('gives the same bytes as encodeChunk', () => {
    for (const len of [0, 1, 7, 8, 9, 188, 1316, 65475]) {
      const h = { kind: Kind.Data, channel: 65535, sequence: 0xfffffff0 + len, timestampUs: 2 ** 52 + len };
      const p = payloadOf(len, len);
      expect(encodeData(h, p).equals(encodeChunk(h, p))).toBe(true);
    }
  });
});
