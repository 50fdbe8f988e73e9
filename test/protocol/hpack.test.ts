import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackEncoderTable } from '../../src/protocol/h2/hpack.js';

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
