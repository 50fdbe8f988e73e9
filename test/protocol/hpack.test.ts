import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackEncoderTable, encodeInteger } from '../../src/protocol/h2/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Examples from RFC 7541 Appendix C (Huffman-coded request C.4.1, responses C.6.1–C.6.3 with a
// 256-byte dynamic table so entries get evicted).
describe('HPACK decoder', () => {
  it('decodes a Huffman-coded request (RFC 7541 C.4.1)', () => {
    const d = new HpackDecoder({ collect: true });
    const b = hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff');
    d.decode(b, 0, b.length);
    expect(d.headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
  });

  it('keeps the dynamic table in sync across responses, with evictions (RFC 7541 C.6)', () => {
    const d = new HpackDecoder({ collect: true, maxTableSize: 256 });
    const blocks = [
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
           2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      hex('4883 640e ffc1 c0bf'),
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
           77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
           9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
    ];
    const decoded = blocks.map((b) => {
      d.decode(b, 0, b.length);
      return [...d.headers];
    });
    expect(decoded[0]).toEqual([
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    expect(decoded[1]).toEqual([
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    expect(decoded[2]).toEqual([
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ]);
    expect(d.httpStatus).toBe('200');
  });

  it('picks out grpc-status and grpc-message', () => {
    const enc = new HpackEncoderTable();
    const block = Buffer.concat([enc.field('grpc-status', '3'), enc.field('grpc-message', 'bad%20key')]);
    const d = new HpackDecoder();
    d.decode(block, 0, block.length);
    expect(d.grpcStatus).toBe('3');
    expect(d.grpcMessage).toBe('bad%20key');
  });

  it('rejects a truncated block instead of misreading it', () => {
    const d = new HpackDecoder();
    const b = hex('4088 f1e3'); // literal, name length 8 but only 2 bytes follow
    expect(() => d.decode(b, 0, b.length)).toThrow(/truncated/);
  });
});

describe('HPACK request encoder', () => {
  it('inserts a header once, then references it by dynamic index, as a decoder sees it', () => {
    const enc = new HpackEncoderTable();
    const dec = new HpackDecoder({ collect: true });
    const first = Buffer.concat([enc.field(':path', '/etcdserverpb.KV/Put'), enc.field('te', 'trailers')]);
    const second = Buffer.concat([enc.field(':path', '/etcdserverpb.KV/Put'), enc.field('te', 'trailers')]);
    expect(second).toEqual(Buffer.from([0x80 | 63, 0x80 | 62]));
    for (const block of [first, second]) {
      dec.decode(block, 0, block.length);
      expect(dec.headers).toEqual([
        [':path', '/etcdserverpb.KV/Put'],
        ['te', 'trailers'],
      ]);
    }
  });
});

describe('HPACK bounds against a hostile peer (RFC 7541 §4.2, §5.2, §6.3, §7.1.3)', () => {
  it.each([
    ['size update above the SETTINGS value', '3fe21f', /above the 4096 allowed/],
    ['size update after a field', '8820', /after a header field/],
    ['Huffman padding not all ones', '00811e', /padding not all ones/], // 'a' (00011) then 110
    ['Huffman padding of 8 bits', '0082ffff', /EOS|padding longer/],
    ['index 0', '80', /out of range/],
    ['index past the tables', 'bf', /out of range/],
    ['integer over 2^28', 'ffffffffffff7f', /too large/],
  ])('%s is a decoding error', (_name, bytes, message) => {
    const d = new HpackDecoder();
    const b = hex(bytes);
    expect(() => d.decode(b, 0, b.length)).toThrow(message);
  });

  it('a size update up to the SETTINGS value is accepted and evicts', () => {
    const d = new HpackDecoder({ collect: true });
    const insert = Buffer.concat([
      Buffer.from([0x40, 1]),
      Buffer.from('a'),
      Buffer.from([1]),
      Buffer.from('b'),
    ]);
    d.decode(insert, 0, insert.length);
    const shrink = hex('20 be'); // size 0 (evicts everything), then index 62 which no longer exists
    expect(() => d.decode(shrink, 0, shrink.length)).toThrow(/index 62 out of range/);
    const grow = hex('3fe11f'); // exactly 4096
    d.decode(grow, 0, grow.length);
  });

  it('a decoded header list over maxListSize is an error (one 1-byte index can expand to a 4 KiB entry)', () => {
    const d = new HpackDecoder({ maxListSize: 1000 });
    const value = 'v'.repeat(900);
    const insert = Buffer.concat([
      Buffer.from([0x40, 1]),
      Buffer.from('k'),
      Buffer.from(encodeInteger(900, 7, 0)),
      Buffer.from(value),
    ]);
    d.decode(insert, 0, insert.length);
    const refs = Buffer.from([0x80 | 62, 0x80 | 62]);
    expect(() => d.decode(refs, 0, refs.length)).toThrow(/header list larger than 1000/);
  });

  it.each(['token', 'authorization'])(
    '%s is sent never-indexed, every time, and never enters the table',
    (name) => {
      const enc = new HpackEncoderTable();
      const first = enc.field(name, 'secret');
      const second = enc.field(name, 'secret');
      expect(first[0]).toBe(0x10);
      expect(second).toEqual(first);
      expect(enc.entries).toBe(0);
      const d = new HpackDecoder({ collect: true });
      d.decode(first, 0, first.length);
      expect(d.headers).toEqual([[name, 'secret']]);
    },
  );

  it('shrink(): a size update 0 opens the next block, then fields are literals without indexing', () => {
    const enc = new HpackEncoderTable();
    enc.field('te', 'trailers');
    enc.shrink();
    expect(enc.takePrefix()).toEqual(Buffer.from([0x20]));
    expect(enc.takePrefix()).toBeUndefined();
    expect(enc.field('te', 'trailers')[0]).toBe(0x00);
    expect(enc.field('content-type', 'application/grpc')[0]).toBe(0x00);
  });
});
