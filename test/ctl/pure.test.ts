import { describe, expect, it } from 'vitest';
import { hexToId, idToHex } from '../../src/ctl/client.js';
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
