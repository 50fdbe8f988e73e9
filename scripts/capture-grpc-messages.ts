// Captures the protobuf messages a real etcd answers the exporter's gRPC calls with (the message bytes
// inside the gRPC frame), for the decoder tests (test/protocol/protobuf.test.ts). See
// test/fixtures/etcd-3.4/README.md. Usage: node --import tsx scripts/capture-grpc-messages.ts [out.json]
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrpcUnaryClient } from '../src/protocol/grpc/unary.js';
import { AUTH_AUTHENTICATE, encodeAuthenticateRequest } from '../src/protocol/protobuf/auth.js';
import { CLUSTER_MEMBER_LIST, MEMBER_LIST_REQUEST } from '../src/protocol/protobuf/cluster.js';
import { encodePutRequest, encodeRangeRequest, KV_PUT, KV_RANGE } from '../src/protocol/protobuf/kv.js';
import {
  decodeLeaseGrantResponse,
  encodeLeaseGrantRequest,
  LEASE_GRANT,
} from '../src/protocol/protobuf/lease.js';
import {
  ALARM_GET_REQUEST,
  encodeHashKvRequest,
  MAINTENANCE_ALARM,
  MAINTENANCE_HASH_KV,
  MAINTENANCE_STATUS,
  STATUS_REQUEST,
} from '../src/protocol/protobuf/maintenance.js';
import { ETCD_BIN, startCluster } from '../harness/etcd-cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? path.join(repoRoot, 'test/fixtures/etcd-3.4/grpc-messages.json');

const cluster = await startCluster({ size: 3 });
try {
  const url = new URL(cluster.endpoints[0] as string);
  const client = new GrpcUnaryClient(
    { host: url.hostname, port: Number(url.port) },
    { dialTimeoutMs: 3000, requestTimeoutMs: 3000 },
  );
  const raw = (m: Buffer): Buffer => Buffer.from(m);
  const call = (method: string, request: Uint8Array) =>
    client.call(method, request, raw, { timeoutMs: 3000 });
  const messages: Record<string, string> = {};
  const grant = await call(LEASE_GRANT, encodeLeaseGrantRequest(60));
  messages['LeaseGrant'] = grant.toString('hex');
  const lease = decodeLeaseGrantResponse(grant).id;
  messages['Put'] = (await call(KV_PUT, encodePutRequest('/capture/a', 'value-ä', lease))).toString('hex');
  messages['Range'] = (await call(KV_RANGE, encodeRangeRequest('/capture/a', false))).toString('hex');
  messages['RangeMissing'] = (await call(KV_RANGE, encodeRangeRequest('/capture/none', false))).toString(
    'hex',
  );
  messages['Status'] = (await call(MAINTENANCE_STATUS, STATUS_REQUEST)).toString('hex');
  messages['MemberList'] = (await call(CLUSTER_MEMBER_LIST, MEMBER_LIST_REQUEST)).toString('hex');
  messages['AlarmList'] = (await call(MAINTENANCE_ALARM, ALARM_GET_REQUEST)).toString('hex');
  const statusRevision = Number(
    JSON.parse(
      execFileSync('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, 'endpoint', 'status', '-w', 'json'], {
        env: { ...process.env, ETCDCTL_API: '3' },
      }).toString(),
    )[0].Status.header.revision,
  );
  messages['HashKV'] = (await call(MAINTENANCE_HASH_KV, encodeHashKvRequest(statusRevision))).toString('hex');
  const etcdctl = (...args: string[]) =>
    execFileSync('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
    }).toString();
  etcdctl('user', 'add', 'root:capture-pw');
  etcdctl('auth', 'enable');
  messages['Authenticate'] = (
    await call(AUTH_AUTHENTICATE, encodeAuthenticateRequest('root', 'capture-pw'))
  ).toString('hex');
  client.close();
  // `-w simple` prints IDs in hex (its JSON prints uint64 numbers, which JSON.parse rounds).
  const members = etcdctl('--user', 'root:capture-pw', 'member', 'list', '-w', 'simple')
    .trim()
    .split('\n')
    .map((line) => {
      const [id, , name] = line.split(', ');
      return { id, name };
    });
  await writeFile(
    out,
    JSON.stringify(
      {
        capturedAt: new Date().toISOString(),
        etcd: execFileSync(ETCD_BIN, ['--version']).toString().split('\n')[0],
        how: 'scripts/capture-grpc-messages.ts: src/protocol/grpc unary calls to member 0 of a 3-member etcd; message bytes inside the gRPC frame, hex',
        queriedMember: 0,
        statusRevision,
        leaseId: lease,
        members,
        messages,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`written ${out}\n`);
} finally {
  await cluster.destroy();
}
process.exit(0);
