import { readFileSync } from 'node:fs';
import { GrpcUnaryClient } from '../protocol/grpc/unary.js';
import {
  GRPC_DEADLINE_EXCEEDED,
  GRPC_INVALID_ARGUMENT,
  GRPC_UNAUTHENTICATED,
  GRPC_UNAVAILABLE,
  GRPC_UNKNOWN,
} from '../protocol/grpc/status.js';
import {
  AUTH_AUTHENTICATE,
  decodeAuthenticateResponse,
  encodeAuthenticateRequest,
} from '../protocol/protobuf/auth.js';
import {
  CLUSTER_MEMBER_LIST,
  decodeMemberListResponse,
  MEMBER_LIST_REQUEST,
} from '../protocol/protobuf/cluster.js';
import {
  decodePutResponse,
  decodeRangeResponse,
  encodePutRequest,
  encodeRangeRequest,
  KV_PUT,
  KV_RANGE,
} from '../protocol/protobuf/kv.js';
import {
  decodeLeaseGrantResponse,
  encodeLeaseGrantRequest,
  LEASE_GRANT,
} from '../protocol/protobuf/lease.js';
import {
  ALARM_GET_REQUEST,
  decodeAlarmResponse,
  decodeHashKvResponse,
  decodeStatusResponse,
  encodeHashKvRequest,
  MAINTENANCE_ALARM,
  MAINTENANCE_HASH_KV,
  MAINTENANCE_STATUS,
  STATUS_REQUEST,
} from '../protocol/protobuf/maintenance.js';
import { AuthFailedError, BadResponseError, GrpcStatusError } from '../util/errors.js';
import { parseEndpoint } from '../util/endpoint.js';
import { normaliseAlarms, normaliseMemberList, normaliseStatus } from './normalise.js';
import type { TlsMaterial } from './tls-material.js';
import type { AlarmEntry, MemberHashKv, MemberListEntry, MemberStatus, ProbeResult } from './types.js';

export { loadTlsMaterial, type TlsMaterial } from './tls-material.js';

/** Reads an etcd password from its file; a trailing newline (as `echo` writes) is not part of it. */
export function readPasswordFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

export interface MemberClientOptions {
  /** etcd user and password for clusters with authentication enabled. */
  readonly auth?: { readonly username: string; readonly password: string };
  readonly dialTimeoutMs: number;
  /** Deadline of every call; a dead connection is dropped within twice this (keepalive PING). */
  readonly requestTimeoutMs: number;
}

/**
 * etcd's answers that mean "fetch a new token": ErrGRPCInvalidAuthToken (UNAUTHENTICATED) and
 * ErrGRPCAuthOldRevision (INVALID_ARGUMENT, "etcdserver: revision of auth store is old"), the two
 * clientv3 refreshes on (client/v3/retry_interceptor.go, shouldRefreshToken). etcd 3.4's
 * Maintenance.Alarm returns auth errors unconverted (etcdserver/api/v3rpc/maintenance.go:
 * `return ms.a.Alarm(ctx, ar)`), so an expired token arrives there as UNKNOWN with the text of
 * auth.ErrInvalidAuthToken (auth/store.go). These statuses carry no marker but their text, so the
 * exact constants from etcd's source are compared (as clientv3's rpctypes.Error does), never a pattern.
 */
const ETCD_ERR_INVALID_AUTH_TOKEN = 'auth: invalid auth token'; // auth/store.go ErrInvalidAuthToken
const ETCD_ERR_AUTH_OLD_REVISION = 'etcdserver: revision of auth store is old'; // rpctypes ErrGRPCAuthOldRevision

function tokenRejected(err: unknown): boolean {
  if (!(err instanceof GrpcStatusError)) return false;
  return (
    err.grpcCode === GRPC_UNAUTHENTICATED ||
    (err.grpcCode === GRPC_UNKNOWN && err.details === ETCD_ERR_INVALID_AUTH_TOKEN) ||
    (err.grpcCode === GRPC_INVALID_ARGUMENT && err.details === ETCD_ERR_AUTH_OLD_REVISION)
  );
}

/** Largest int64: etcd's lease IDs are positive int64s; anything else is not a lease. */
const MAX_LEASE_ID = 2n ** 63n - 1n;

/**
 * gRPC access to exactly one member over one node:http2 session (src/protocol/grpc): every answer is
 * that member's own view, and there are no retries or fail-over, so a failure shows as a failure of
 * this member, with a stable code (src/util/errors.ts).
 */
export class MemberClient {
  private readonly grpc: GrpcUnaryClient;
  private token: Promise<string> | undefined;

  constructor(
    readonly endpoint: string,
    tls: TlsMaterial | undefined,
    private readonly options: MemberClientOptions,
  ) {
    const { host, port, secure } = parseEndpoint(endpoint);
    this.grpc = new GrpcUnaryClient(
      { host, port, ...(secure ? { tls: { ...(tls ?? {}) } } : {}) },
      { dialTimeoutMs: options.dialTimeoutMs, requestTimeoutMs: options.requestTimeoutMs },
    );
  }

  /** Sessions dialled so far (a redial after a lost connection counts one more). */
  get dials(): number {
    return this.grpc.dials;
  }

  /** Maintenance.Status answered by this member. */
  async status(): Promise<MemberStatus> {
    return normaliseStatus(
      await this.call('status', MAINTENANCE_STATUS, STATUS_REQUEST, decodeStatusResponse),
    );
  }

  /** Cluster.MemberList as this member knows it (3.4 always answers from its local view). */
  async memberList(): Promise<MemberListEntry[]> {
    return normaliseMemberList(
      await this.call('member list', CLUSTER_MEMBER_LIST, MEMBER_LIST_REQUEST, decodeMemberListResponse),
    );
  }

  /** Active alarms (Maintenance.Alarm GET; a raft proposal in 3.4, so callers ask one member a round). */
  async alarms(): Promise<AlarmEntry[]> {
    return normaliseAlarms(
      await this.call('alarm list', MAINTENANCE_ALARM, ALARM_GET_REQUEST, decodeAlarmResponse),
    );
  }

  /** Maintenance.HashKV at `revision`: a hash of the whole MVCC history up to it (expensive; run rarely). */
  async hashKv(revision: number): Promise<MemberHashKv> {
    const res = await this.call(
      'hashkv',
      MAINTENANCE_HASH_KV,
      encodeHashKvRequest(revision),
      decodeHashKvResponse,
    );
    return { revision, hash: res.hash, compactRevision: res.compactRevision };
  }

  /**
   * Writes then linearizably reads one key through this member, timing each as a client sees it.
   * The key hangs on a fresh short lease so probe keys expire on their own even if the exporter dies.
   */
  async probe(key: string, leaseTtlSeconds: number): Promise<ProbeResult> {
    // A fresh lease per probe, never reused: the key is re-attached to it, so it expires at most one
    // TTL after the last probe. A failed grant fails the probe; there is no unleased fallback.
    const grant = await this.call(
      'probe lease grant',
      LEASE_GRANT,
      encodeLeaseGrantRequest(leaseTtlSeconds),
      decodeLeaseGrantResponse,
    );
    // Lease 0 means "no lease" in a PutRequest: a key put with it would stay forever.
    if (!/^[1-9]\d*$/.test(grant.id) || BigInt(grant.id) > MAX_LEASE_ID || grant.error) {
      throw new BadResponseError(
        this.endpoint,
        `no usable lease (ID ${grant.id}${grant.error ? `, ${grant.error}` : ''}); probe key not written`,
        { what: 'probe lease grant' },
      );
    }
    const value = String(Date.now());
    const writeStart = process.hrtime.bigint();
    const put = await this.call(
      'probe write',
      KV_PUT,
      encodePutRequest(key, value, grant.id),
      decodePutResponse,
    );
    const writeSeconds = Number(process.hrtime.bigint() - writeStart) / 1e9;
    const readStart = process.hrtime.bigint();
    const read = await this.call('probe read', KV_RANGE, encodeRangeRequest(key, false), decodeRangeResponse);
    const readSeconds = Number(process.hrtime.bigint() - readStart) / 1e9;
    const kv = read.kvs[0];
    const got = kv?.value.toString('utf8');
    // A linearizable read must show this write or a later one. Later is normal when a second exporter
    // watches the cluster (an HA pair, a rolling update's surge pod, two shards during a rollout): both
    // probe the same key, so the value may be the other's — at a higher revision, never a lower one.
    const later = kv !== undefined && put.revision > 0 && kv.modRevision > put.revision;
    if (got !== value && !later) {
      throw new BadResponseError(
        this.endpoint,
        `returned ${got === undefined ? 'no key' : JSON.stringify(got)}, expected what was just written`,
        { what: 'probe read' },
      );
    }
    return { writeSeconds, readSeconds };
  }

  /** Closes the session; a later call dials a new one. */
  close(): void {
    this.grpc.close();
  }

  /**
   * One call with this member's deadline. With authentication on, the token is fetched once and again
   * only when etcd says it is no longer valid (simple tokens expire after 5 idle minutes).
   */
  private async call<T>(
    what: string,
    method: string,
    request: Uint8Array,
    decode: (message: Buffer) => T,
  ): Promise<T> {
    const timeoutMs = this.options.requestTimeoutMs;
    if (!this.options.auth) return this.grpc.call(method, request, decode, { timeoutMs, what });
    const token = await this.authToken();
    try {
      return await this.grpc.call(method, request, decode, { timeoutMs, what, token });
    } catch (err) {
      if (!tokenRejected(err)) throw err;
      this.token = undefined;
      return this.grpc.call(method, request, decode, { timeoutMs, what, token: await this.authToken() });
    }
  }

  private authToken(): Promise<string> {
    const auth = this.options.auth;
    if (!auth) return Promise.resolve('');
    this.token ??= this.grpc
      .call(
        AUTH_AUTHENTICATE,
        encodeAuthenticateRequest(auth.username, auth.password),
        (m) => decodeAuthenticateResponse(m).token,
        { timeoutMs: this.options.requestTimeoutMs, what: 'authenticate' },
      )
      .catch((err: unknown) => {
        this.token = undefined;
        // Any status but a timeout or an unavailable member means the credentials were refused
        // (etcd: ErrGRPCAuthFailed, INVALID_ARGUMENT "authentication failed, invalid user ID or password").
        if (
          err instanceof GrpcStatusError &&
          err.grpcCode !== GRPC_DEADLINE_EXCEEDED &&
          err.grpcCode !== GRPC_UNAVAILABLE
        ) {
          throw new AuthFailedError(this.endpoint, { cause: err, what: 'authenticate', detail: err.details });
        }
        throw err;
      });
    return this.token;
  }
}
