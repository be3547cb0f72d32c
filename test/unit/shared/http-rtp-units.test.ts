/**
 * The pure parts of src/http/ and src/rtp/: the request reader's limits, content sniffing,
 * the playlist, the RTP header parser and the 16-bit sequence extension, the SDP text.
 */
import { describe, expect, it } from 'vitest';

import { sniffMediaType, wavHeader } from '../../../src/http/content-type.js';
import { baseUrl, playlist } from '../../../src/http/playlist.js';
import { MAX_HEADER_LINES, MAX_REQUEST_BYTES, RequestReader } from '../../../src/http/request.js';
import { parseRtp, SequenceExtender, writeRtpHeader } from '../../../src/rtp/packet.js';
import { RtpDepacketizer } from '../../../src/rtp/rtp-input.js';
import { sessionDescription } from '../../../src/rtp/sdp.js';
import { parseEndpoint, type UdpEndpoint } from '../../../src/shared/url.js';

describe('RequestReader', () => {
  it('reads a head given byte by byte', () => {
    const r = new RequestReader();
    const text = 'GET /channel/3?x=1 HTTP/1.1\r\nHost: a:1\r\nUser-Agent: VLC\r\n\r\n';
    let last;
    for (const ch of text) last = r.push(Buffer.from(ch));
    expect(last).toEqual({ state: 'done', request: { method: 'GET', minor: 1, path: '/channel/3', query: 'x=1', headers: new Map([['host', 'a:1'], ['user-agent', 'VLC']]) } });
  });

  it('answers 431 past the size limit without holding more than the limit', () => {
    const r = new RequestReader();
    expect(r.push(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ state: 'more' });
    const res = r.push(Buffer.alloc(10 * MAX_REQUEST_BYTES, 0x61));
    expect(res).toMatchObject({ state: 'error', status: 431 });
  });

  it(`answers 431 past ${MAX_HEADER_LINES} header lines, before the head ends`, () => {
    const r = new RequestReader();
    const lines = Array.from({ length: MAX_HEADER_LINES + 2 }, (_, i) => `A${i}: b\r\n`).join('');
    expect(r.push(Buffer.from(`GET / HTTP/1.1\r\n${lines}`))).toMatchObject({ state: 'error', status: 431 });
    const ok = new RequestReader();
    const fit = Array.from({ length: MAX_HEADER_LINES }, (_, i) => `A${i}: b\r\n`).join('');
    expect(ok.push(Buffer.from(`GET / HTTP/1.1\r\n${fit}\r\n`))).toMatchObject({ state: 'done' });
  });

  it('400 for a bad request line or header, 505 for HTTP/2', () => {
    expect(new RequestReader().push(Buffer.from('GET /\r\n\r\n'))).toMatchObject({ state: 'error', status: 400 });
    expect(new RequestReader().push(Buffer.from('GET / HTTP/1.1\r\nno colon\r\n\r\n'))).toMatchObject({ state: 'error', status: 400 });
    expect(new RequestReader().push(Buffer.from('GET / HTTP/2.0\r\n\r\n'))).toMatchObject({ state: 'error', status: 505 });
  });
});

describe('content sniffing', () => {
  it('tells MPEG-TS, WAV, MP3 and the rest apart', () => {
    const ts = Buffer.alloc(1316);
    for (let i = 0; i < 7; i++) ts[i * 188] = 0x47;
    expect(sniffMediaType(ts)).toBe('video/mp2t');
    ts[376] = 0;
    expect(sniffMediaType(ts)).toBe('application/octet-stream');
    const wav = Buffer.alloc(100);
    wav.write('RIFF', 0);
    wav.write('WAVE', 8);
    wav.write('fmt ', 12);
    wav.writeUInt32LE(16, 16);
    wav.write('data', 36);
    expect(sniffMediaType(wav)).toBe('audio/wav');
    expect(wavHeader(wav)?.length).toBe(44);
    expect(sniffMediaType(Buffer.from('ID3\x04\x00'))).toBe('audio/mpeg');
    expect(sniffMediaType(Buffer.from([0xff, 0xfb, 0x90, 0x64]))).toBe('audio/mpeg'); // MPEG-1 layer III 128k 44.1k
    expect(sniffMediaType(Buffer.from([0xff, 0xfb, 0xf0, 0x64]))).toBe('application/octet-stream'); // bad bitrate index
  });
});

describe('playlist', () => {
  it('one #EXTINF and absolute URL per channel, names without line breaks or commas', () => {
    const text = playlist([{ id: 2, name: 'News, live\r\nnow', description: '', bitrate: 0 }], baseUrl('tv.local:8000', { host: '0.0.0.0', port: 8000 }));
    expect(text).toBe('#EXTM3U\n#EXTINF:-1,News  live now\nhttp://tv.local:8000/channel/2\n');
    expect(baseUrl('bad host\r\n', { host: '0.0.0.0', port: 8 })).toBe('http://127.0.0.1:8');
  });
});

describe('RTP', () => {
  const packet = (seq: number, first = 0x80, payload = Buffer.from([0x47, 1, 2])): Buffer => {
    const p = Buffer.alloc(12 + payload.length);
    writeRtpHeader({ payloadType: 33, marker: false, sequence: seq, timestamp: 9000, ssrc: 7 }, p);
    p[0] = first;
    payload.copy(p, 12);
    return p;
  };

  it('parses the fixed header, skips CSRCs and an extension, strips padding; rejects what does not fit', () => {
    expect(parseRtp(packet(5))).toMatchObject({ ok: true, header: { payloadType: 33, sequence: 5, timestamp: 9000, ssrc: 7 } });
    // CC=1 and X: 4 bytes of CSRC, then an extension header of 1 word.
    const ext = Buffer.concat([packet(1).subarray(0, 12), Buffer.alloc(4), Buffer.from([0xbe, 0xde, 0, 1]), Buffer.alloc(4), Buffer.from('pay')]);
    ext[0] = 0x80 | 0x10 | 1;
    expect(parseRtp(ext)).toMatchObject({ ok: true, payload: Buffer.from('pay') });
    const padded = Buffer.concat([packet(1).subarray(0, 12), Buffer.from('pay'), Buffer.from([0, 0, 3])]);
    padded[0] = 0xa0;
    expect(parseRtp(padded)).toMatchObject({ ok: true, payload: Buffer.from('pay') });
    padded[padded.length - 1] = 200;
    expect(parseRtp(padded)).toEqual({ ok: false, reason: 'rtp_bad_padding' });
    expect(parseRtp(Buffer.alloc(11))).toEqual({ ok: false, reason: 'rtp_too_short' });
    expect(parseRtp(packet(1, 0x40))).toEqual({ ok: false, reason: 'rtp_bad_version' });
    expect(parseRtp(packet(1, 0x8f))).toEqual({ ok: false, reason: 'rtp_too_short' }); // 15 CSRCs that are not there
    const cut = packet(1, 0x90);
    expect(parseRtp(cut)).toEqual({ ok: false, reason: 'rtp_bad_extension' });
  });

  it('extends sequence numbers across the wrap, forwards and late; a new SSRC starts over', () => {
    const x = new SequenceExtender();
    const ext = (s: number, ssrc = 1): number => x.extend(s, ssrc).extended;
    expect([65534, 65535, 0, 1, 65533, 2].map((s) => ext(s))).toEqual([65534, 65535, 65536, 65537, 65533, 65538]);
    expect(x.extend(100, 2)).toEqual({ extended: 100, restarted: true });
  });

  it('the depacketizer makes a channel-1 data chunk of the payload, numbered by the extended sequence', () => {
    const d = new RtpDepacketizer(() => 42);
    const r = d.push(packet(65535));
    expect(r).toMatchObject({ ok: true, payloadType: 33, chunk: { channel: 1, sequence: 65535, timestampUs: 42, payload: Buffer.from([0x47, 1, 2]) } });
    expect(d.push(packet(0))).toMatchObject({ ok: true, chunk: { sequence: 65536 } });
  });

  it('SDP: MP2T as PT 33 with the connection at session level; a second output and a dynamic PT', () => {
    const a = parseEndpoint('rtp://239.1.2.3:5004?iface=127.0.0.1&ttl=4', 'send') as UdpEndpoint;
    const b = parseEndpoint('rtp://127.0.0.1:6000', 'send') as UdpEndpoint;
    expect(a.rtp).toBe(true);
    const text = sessionDescription([{ endpoint: a, payloadType: 33 }, { endpoint: b, payloadType: 96 }], 'Test', 1);
    expect(text.split('\r\n')).toEqual([
      'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=Test', 'c=IN IP4 239.1.2.3/4', 't=0 0',
      'm=video 5004 RTP/AVP 33', 'a=rtpmap:33 MP2T/90000', 'a=recvonly',
      'm=application 6000 RTP/AVP 96', 'c=IN IP4 127.0.0.1', 'a=rtpmap:96 X-IPCAST-RAW/90000', 'a=recvonly', '',
    ]);
  });

  it('rtp:// URLs: @ on recv only, the udp parameters', () => {
    expect(parseEndpoint('rtp://@:5004', 'recv')).toMatchObject({ proto: 'udp', rtp: true, port: 5004 });
    expect(() => parseEndpoint('rtp://239.1.1.1:5004', 'send')).toThrow(/must name its interface/);
    expect(() => parseEndpoint('rtp://127.0.0.1:5004', 'recv')).toThrow(/starts with '@': rtp:\/\/@GROUP:PORT/);
  });
});
