// The etcd protobuf code (src/protocol/protobuf) on messages a real etcd 3.4 sent
// (test/fixtures/etcd-3.4/grpc-messages.json, scripts/capture-grpc-messages.ts): decoded values match
// what etcdctl printed, requests encode as etcd encodes the same values, and no truncation or mutation
// of those bytes makes a decoder throw anything but WireFormatError (or run away).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseAlarms, normaliseMemberList, normaliseStatus } from '../../src/etcd/normalise.js';
import { decodeAuthenticateResponse, encodeAuthenticateRequest } from '../../src/protocol/protobuf/auth.js';
import { decodeMemberListResponse } from '../../src/protocol/protobuf/cluster.js';
import {
  decodePutResponse,
  decodeRangeResponse,
  encodePutRequest,
  encodeRangeRequest,
} from '../../src/protocol/protobuf/kv.js';
import { decodeLeaseGrantResponse, encodeLeaseGrantRequest } from '../../src/protocol/protobuf/lease.js';
import {
  decodeAlarmResponse,
  decodeHashKvResponse,
  decodeStatusResponse,
  encodeHashKvRequest,
} from '../../src/protocol/protobuf/maintenance.js';
import { WireFormatError } from '../../src/protocol/protobuf/wire.js';

interface Capture {
  statusRevision: number;
  leaseId: string;
  members: { id: string; name: string }[];
  messages: Record<string, string>;
}
const capture = JSON.parse(
  readFileSync(new URL('../fixtures/etcd-3.4/grpc-messages.json', import.meta.url), 'utf8'),
) as Capture;
const bytes = (name: string): Buffer => Buffer.from(capture.messages[name] as string, 'hex');

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  Status: decodeStatusResponse,
  MemberList: decodeMemberListResponse,
  AlarmList: decodeAlarmResponse,
  HashKV: decodeHashKvResponse,
  LeaseGrant: decodeLeaseGrantResponse,
  Range: decodeRangeResponse,
  RangeMissing: decodeRangeResponse,
  Authenticate: decodeAuthenticateResponse,
};

describe('decoding what etcd 3.4 answered', () => {
  it('Status and MemberList: the member IDs and names etcdctl printed, exactly (64-bit IDs)', () => {
    const status = normaliseStatus(decodeStatusResponse(bytes('Status')));
    expect(status.version).toBe('3.4.23');
    expect(capture.members.map((m) => m.id)).toContain(status.memberId);
    expect(capture.members.map((m) => m.id)).toContain(status.leaderId);
    expect(status.revision).toBe(capture.statusRevision);
    expect(status.dbSizeBytes).toBeGreaterThan(0);
    const list = normaliseMemberList(decodeMemberListResponse(bytes('MemberList')));
    expect(list.map((m) => ({ id: m.id, name: m.name })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...capture.members].sort((a, b) => a.id.localeCompare(b.id)),
    );
    for (const m of list) expect(m.clientUrls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('AlarmList (3.4 sends an empty message when nothing is raised), HashKV, Authenticate', () => {
    expect(normaliseAlarms(decodeAlarmResponse(bytes('AlarmList')))).toEqual([]);
    const hash = decodeHashKvResponse(bytes('HashKV'));
    expect(hash.compactRevision).toBe(-1); // int64 -1 on the wire: a 10-byte varint
    expect(hash.revision).toBe(capture.statusRevision);
    expect(hash.hash).toBeGreaterThan(0);
    expect(decodeAuthenticateResponse(bytes('Authenticate')).token).toMatch(/^\w+\.\d+$/);
  });

  it('LeaseGrant, Range: the lease ID above 2^53 kept exact, the value in UTF-8, a missing key as no kvs', () => {
    const grant = decodeLeaseGrantResponse(bytes('LeaseGrant'));
    expect(grant).toEqual({ id: capture.leaseId, ttl: 60, error: '' });
    const range = decodeRangeResponse(bytes('Range'));
    expect(range.kvs).toHaveLength(1);
    expect(range.kvs[0]?.key.toString()).toBe('/capture/a');
    expect(range.kvs[0]?.value.toString('utf8')).toBe('value-ä');
    expect(range.kvs[0]?.lease).toBe(capture.leaseId);
    expect(range.count).toBe(1);
    expect(decodeRangeResponse(bytes('RangeMissing')).kvs).toEqual([]);
  });

  it('PutResponse: the revision of its header (field 1, ResponseHeader.revision = field 3); 0 without one', () => {
    // header { cluster_id: 7, revision: 300 }: 0a 05 | 08 07 | 18 ac 02
    expect(decodePutResponse(Buffer.from('0a05080718ac02', 'hex'))).toEqual({ revision: 300 });
    expect(decodePutResponse(Buffer.alloc(0))).toEqual({ revision: 0 });
  });
});

describe('encoding requests', () => {
  it('a PutRequest carries the lease ID as the same varint bytes etcd uses for it', () => {
    const put = encodePutRequest('/capture/a', 'value-ä', capture.leaseId);
    // key (field 1, 10 bytes), value (field 2, 8 bytes of UTF-8), then lease (field 3, tag 0x18).
    expect(put.subarray(0, 12)).toEqual(Buffer.from([0x0a, 10, ...Buffer.from('/capture/a')]));
    expect(put.subarray(12, 22)).toEqual(Buffer.from([0x12, 8, ...Buffer.from('value-ä')]));
    expect(put[22]).toBe(0x18);
    const leaseVarint = put.subarray(23);
    // etcd's Range answer has the same varint as KeyValue.lease (field 6, tag 0x30).
    expect(bytes('Range').includes(Buffer.concat([Buffer.from([0x30]), leaseVarint]))).toBe(true);
    // 7 bits a byte: all of the ID's bits written, none rounded away (etcd's lease IDs exceed 2^53).
    expect(leaseVarint.length).toBe(Math.ceil(BigInt(capture.leaseId).toString(2).length / 7));
  });

  it('proto3 defaults are left out; everything else is tag + value', () => {
    expect(encodeLeaseGrantRequest(60)).toEqual(Buffer.from([0x08, 60]));
    expect(encodeLeaseGrantRequest(9_000_000_001)).toEqual(Buffer.from([0x08, 0x81, 0xb4, 0xc4, 0xc3, 0x21]));
    expect(encodeHashKvRequest(0)).toEqual(Buffer.alloc(0));
    expect(encodeHashKvRequest(300)).toEqual(Buffer.from([0x08, 0xac, 0x02]));
    expect(encodeRangeRequest('k', false)).toEqual(Buffer.from([0x0a, 1, 0x6b]));
    expect(encodeRangeRequest('k', true)).toEqual(Buffer.from([0x0a, 1, 0x6b, 0x38, 1]));
    expect(encodePutRequest('k', 'v')).toEqual(Buffer.from([0x0a, 1, 0x6b, 0x12, 1, 0x76]));
    expect(encodePutRequest('k', 'v', '0')).toEqual(Buffer.from([0x0a, 1, 0x6b, 0x12, 1, 0x76]));
    expect(encodeAuthenticateRequest('u', 'p')).toEqual(Buffer.from([0x0a, 1, 0x75, 0x12, 1, 0x70]));
  });
});

/** A small seeded PRNG (mulberry32), so a failing mutation can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function decodeOrWireError(name: string, decode: (b: Uint8Array) => unknown, input: Uint8Array): void {
  try {
    decode(input);
  } catch (err) {
    if (!(err instanceof WireFormatError)) {
      throw new Error(`${name} threw ${String(err)} on ${Buffer.from(input).toString('hex')}`);
    }
    expect(err.code).toBe('PROTOBUF_INVALID');
  }
}

describe('malformed input: only WireFormatError', () => {
  it('every truncation of every captured message', () => {
    let cases = 0;
    for (const [name, decode] of Object.entries(DECODERS)) {
      const b = bytes(name);
      for (let n = 0; n < b.length; n++) {
        decodeOrWireError(name, decode, b.subarray(0, n));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('20,000 random mutations (byte changes, 0xff runs, inserts, deletes) of the captured messages', () => {
    const rand = prng(12);
    const names = Object.keys(DECODERS).filter((n) => bytes(n).length > 0);
    let wireErrors = 0;
    for (let i = 0; i < 20_000; i++) {
      const name = names[Math.floor(rand() * names.length)] as string;
      const b = Buffer.from(bytes(name));
      const edits = 1 + Math.floor(rand() * 4);
      let m = b;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * m.length);
        const kind = Math.floor(rand() * 4);
        if (kind === 0) m[at] = Math.floor(rand() * 256);
        else if (kind === 1) m.fill(0xff, at, Math.min(m.length, at + 1 + Math.floor(rand() * 10)));
        else if (kind === 2)
          m = Buffer.concat([m.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), m.subarray(at)]);
        else m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1)]);
      }
      try {
        (DECODERS[name] as (b: Uint8Array) => unknown)(m);
      } catch (err) {
        if (!(err instanceof WireFormatError)) throw new Error(`${name} mutation ${i}: ${String(err)}`);
        wireErrors++;
      }
    }
    // Most mutations break the framing; some land in values and decode to other values.
    expect(wireErrors).toBeGreaterThan(2000);
  });
});
