import path from 'node:path';
import type { ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import protobuf from 'protobufjs';
import { callCounts, SimGrpcError, type CallCounts, type SimMember } from './cluster-state.js';

/**
 * The etcd gRPC methods the exporter calls (src/etcd/member-client.ts), answered over h2c the way
 * grpc-go does (grpc/grpc doc/PROTOCOL-HTTP2.md: length-prefixed message, grpc-status in trailers).
 * Messages are encoded with protobufjs from etcd's own .proto files as the etcd3 package ships them,
 * so field numbers and types are etcd's, not a second hand-written codec that could share the
 * exporter's mistakes.
 */

const PROTO_DIR = path.resolve(import.meta.dirname, '..', '..', 'node_modules', 'etcd3', 'proto');
const root = new protobuf.Root();
// rpc.proto imports "./kv.proto"; resolve it beside the file rather than against the working directory.
root.resolvePath = (_origin, target) => path.join(PROTO_DIR, path.basename(target));
root.loadSync(path.join(PROTO_DIR, 'rpc.proto'), { keepCase: true });
const type = (name: string): protobuf.Type => root.lookupType(`etcdserverpb.${name}`);

interface Method {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  readonly answer: (member: SimMember, request: Record<string, unknown>) => Record<string, unknown>;
}

const GRPC_UNIMPLEMENTED = 12;
const GRPC_INTERNAL = 13;

function header(member: SimMember, withRevision = true): Record<string, unknown> {
  const c = member.cluster;
  return {
    cluster_id: String(c.id),
    member_id: String(member.id),
    ...(withRevision ? { revision: c.revision } : {}),
    raft_term: c.raftTerm,
  };
}

const METHODS: Record<string, Method> = {
  '/etcdserverpb.Maintenance/Status': {
    request: type('StatusRequest'),
    response: type('StatusResponse'),
    answer: (m) => {
      const c = m.cluster;
      return {
        header: header(m),
        version: c.version,
        dbSize: 20480,
        leader: String(c.leader.id),
        raftIndex: c.raftIndex,
        raftTerm: c.raftTerm,
        raftAppliedIndex: c.raftIndex,
        dbSizeInUse: 20480,
      };
    },
  },
  '/etcdserverpb.Cluster/MemberList': {
    request: type('MemberListRequest'),
    response: type('MemberListResponse'),
    // etcd fills no revision in MemberList's header (test/fixtures/etcd-*/member-list.json).
    answer: (m) => ({
      header: header(m, false),
      members: m.cluster.members.map((x) => ({
        ID: String(x.id),
        name: x.name,
        peerURLs: [x.peerUrl()],
        clientURLs: [x.clientUrl()],
      })),
    }),
  },
  '/etcdserverpb.Maintenance/Alarm': {
    request: type('AlarmRequest'),
    response: type('AlarmResponse'),
    // A raft proposal in etcd (Alarm GET goes through raft), so the raft index moves like a real one's.
    answer: (m) => {
      m.cluster.apply('Alarm');
      return { header: header(m), alarms: [] };
    },
  },
  '/etcdserverpb.Maintenance/HashKV': {
    request: type('HashKVRequest'),
    response: type('HashKVResponse'),
    answer: (m, req) => {
      const { hash } = m.cluster.hashAt(Number(req['revision'] ?? 0));
      // -1: never compacted (the probe never compacts; etcd's compactMainRev starts at -1).
      return { header: header(m), hash, compact_revision: -1 };
    },
  },
  '/etcdserverpb.Lease/LeaseGrant': {
    request: type('LeaseGrantRequest'),
    response: type('LeaseGrantResponse'),
    answer: (m, req) => {
      const { id, ttl } = m.cluster.grantLease(Number(req['TTL'] ?? 0));
      return { header: header(m), ID: id, TTL: ttl };
    },
  },
  '/etcdserverpb.KV/Put': {
    request: type('PutRequest'),
    response: type('PutResponse'),
    answer: (m, req) => {
      const key = Buffer.from((req['key'] as Uint8Array | undefined) ?? []).toString('latin1');
      m.cluster.put(
        key,
        Buffer.from((req['value'] as Uint8Array | undefined) ?? []),
        String(req['lease'] ?? '0'),
      );
      return { header: header(m) };
    },
  },
  '/etcdserverpb.KV/Range': {
    request: type('RangeRequest'),
    response: type('RangeResponse'),
    answer: (m, req) => {
      const keyBytes = Buffer.from((req['key'] as Uint8Array | undefined) ?? []);
      const kv = m.cluster.get(keyBytes.toString('latin1'));
      const kvs = kv
        ? [
            {
              key: keyBytes,
              create_revision: kv.createRevision,
              mod_revision: kv.modRevision,
              version: kv.version,
              value: kv.value,
              lease: kv.lease,
            },
          ]
        : [];
      return { header: header(m), kvs, count: kvs.length };
    },
  },
};

/** The methods answered; anything else is UNIMPLEMENTED, as from a server without that service. */
export const SIMULATED_METHODS: readonly string[] = Object.keys(METHODS);

/** Serves one gRPC stream for `member`: one request message in, one response message or a status out. */
export function serveGrpc(member: SimMember, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('error', () => undefined);
  const path = String(headers[':path']);
  const method = METHODS[path];
  // Counted as go-grpc-prometheus does in etcd: started on arrival, then one message in, one out, handled by code.
  const counts = method ? callCounts(member, path) : undefined;
  if (counts) counts.started++;
  stream.on('end', () => {
    if (!method || !counts) return fail(stream, undefined, GRPC_UNIMPLEMENTED, `unknown method ${path}`);
    let body: Buffer;
    try {
      const frame = Buffer.concat(chunks);
      // Length-prefixed message: compressed flag (1 byte), big-endian length (4 bytes), the message.
      if (frame.length < 5 || frame[0] !== 0) throw new Error('not one uncompressed gRPC message');
      counts.received++;
      const request = method.request.toObject(
        method.request.decode(frame.subarray(5, 5 + frame.readUInt32BE(1))),
        {
          longs: String,
        },
      );
      const response = method.response.fromObject(method.answer(member, request));
      const message = method.response.encode(response).finish();
      body = Buffer.allocUnsafe(5 + message.length);
      body[0] = 0;
      body.writeUInt32BE(message.length, 1);
      body.set(message, 5);
    } catch (err) {
      if (err instanceof SimGrpcError) return fail(stream, counts, err.grpcCode, err.message);
      return fail(stream, counts, GRPC_INTERNAL, err instanceof Error ? err.message : String(err));
    }
    if (stream.destroyed) return;
    counts.sent++;
    counts.handled[0]!++;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(body);
  });
}

/** A trailers-only answer (grpc-go sends the status in the HEADERS frame when there is no message). */
function fail(
  stream: ServerHttp2Stream,
  counts: CallCounts | undefined,
  code: number,
  message: string,
): void {
  if (stream.destroyed) return;
  if (counts) counts.handled[code]!++;
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeURIComponent(message),
    },
    { endStream: true },
  );
}
