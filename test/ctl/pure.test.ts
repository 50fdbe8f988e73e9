import { describe, expect, it } from 'vitest';
import { hexToId, idToHex } from '../../src/ctl/client.js';
import { goHumanBytes, hexNum, num, toJson } from '../../src/ctl/etcdctl-format.js';
import { prefixEnd, rangeBytes } from '../../src/ctl/kv.js';
import { parseTxnSpec } from '../../src/ctl/txn.js';

describe('ctl pure helpers', () => {
  it('keeps 64-bit IDs exact between etcd3 decimal strings and etcdctl hex', () => {
    // A 3.4 member's ID as etcd3 returned it (decimal), and in hex; above 2^53, so a JS number would round it.
    expect(idToHex('9720061887900210470')).toBe('86e498c9b71ad526');
    expect(hexToId('86e498c9b71ad526')).toBe('9720061887900210470');
    expect(hexToId('0xFFFFFFFFFFFFFFFF')).toBe('18446744073709551615');
    expect(() => hexToId('12g')).toThrow(/not a hexadecimal ID/);
    expect(() => hexToId('1ffffffffffffffff')).toThrow();
  });

  it('computes prefix range ends the way etcd does', () => {
    expect(prefixEnd(Buffer.from('abc'))).toEqual(Buffer.from('abd'));
    expect(prefixEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from([0]));
    expect(prefixEnd(Buffer.alloc(0))).toEqual(Buffer.from([0]));
    expect(() => rangeBytes({ key: 'a', prefix: true, fromKey: true })).toThrow(/at most one/);
    expect(() => rangeBytes({ key: '' })).toThrow(/empty key/);
  });

  it('validates transaction documents strictly', () => {
    expect(parseTxnSpec({ compare: [{ key: 'k', target: 'mod', result: '>', value: 3 }] })).toEqual({
      compare: [{ key: 'k', target: 'mod', result: '>', value: 3 }],
      success: [],
      failure: [],
    });
    expect(() => parseTxnSpec({ compare: [{ key: 'k', target: 'size', result: '=', value: 1 }] })).toThrow(
      /target must be one of/,
    );
    expect(() => parseTxnSpec({ success: [{ put: { key: 'k' } }] })).toThrow(
      /success\[0\]\.put\.value must be a string/,
    );
    expect(() => parseTxnSpec({ success: [{ put: { key: 'k', value: 'v' }, del: { key: 'k' } }] })).toThrow(
      /exactly one/,
    );
    expect(() => parseTxnSpec([])).toThrow(/JSON object/);
  });
});

describe("etcdctl's output helpers", () => {
  it('an empty key with --prefix or --from-key is every key: key "\\0", range_end "\\0" (etcdctl)', () => {
    for (const r of [
      { key: '', prefix: true },
      { key: '', fromKey: true },
    ]) {
      expect(rangeBytes(r)).toEqual({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    }
    expect(() => rangeBytes({ key: '' })).toThrow(/needs --prefix or --from-key/);
  });

  it("DB sizes as go-humanize's Bytes prints them (etcdctl endpoint/snapshot status)", () => {
    const cases: [number, string][] = [
      [5, '5 B'],
      [20_480, '20 kB'], // 20.5 rounds half to even, as Go's %.0f
      [21_480, '22 kB'], // 21.5 -> 22, the even neighbour
      [2_097_152, '2.1 MB'],
      [8_589_934_592, '8.6 GB'],
    ];
    for (const [n, text] of cases) expect(goHumanBytes(n)).toBe(text);
  });

  it('writes 64-bit IDs as exact JSON numbers and leaves out undefined fields', () => {
    expect(toJson({ a: num('15118495548433857066'), b: undefined, c: [hexNum('bdae9bbc11dd390d')] })).toBe(
      '{"a":15118495548433857066,"c":[13668033151171901709]}',
    );
  });
});
