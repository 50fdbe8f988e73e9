import { readFileSync } from 'node:fs';
import { noop } from 'cockatiel';
import { Etcd3, LeaseClient, type IHashKVResponse, type IOptions } from 'etcd3';
import { MemberRequestError } from '../util/errors.js';
import { decodeAuthenticateResponse, encodeAuthenticateRequest } from '../protocol/protobuf/auth.js';
import { decodeMemberListResponse } from '../protocol/protobuf/cluster.js';
import { EMPTY_MESSAGE as EMPTY_REQUEST } from '../protocol/protobuf/header.js';
import {
  ALARM_GET_REQUEST,
  decodeAlarmResponse,
  decodeStatusResponse,
} from '../protocol/protobuf/maintenance.js';
import { GrpcStatusError, GrpcUnaryClient, tlsHint } from './grpc-unary.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_UNAUTHENTICATED, GRPC_UNAVAILABLE } from '../protocol/grpc/status.js';
import { normaliseAlarms, normaliseMemberList, normaliseStatus } from './normalise.js';
import type { TlsMaterial } from './tls-material.js';
import type { AlarmEntry, MemberHashKv, MemberListEntry, MemberStatus, ProbeResult } from './types.js';

export { loadTlsMaterial, type TlsMaterial } from './tls-material.js';
export { tlsHint } from './grpc-unary.js';

/** Reads an etcd password from its file; a trailing newline (as `echo` writes) is not part of it. */
export function readPasswordFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

export interface MemberClientOptions {
  /** etcd user and password for clusters with authentication enabled. */
  readonly auth?: { readonly username: string; readonly password: string };
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Upper bound for gRPC's reconnect backoff, so a restarted member is seen again within a round or two. */
  readonly maxReconnectBackoffMs: number;
}

/**
 * gRPC access to exactly one member. The client is bound to a single host so every answer is that
 * member's own view, and etcd3's retry and circuit-breaker policies are off: a failure must show as
 * a failure of this member, not be hidden or moved to another one.
 */
export class MemberClient {
  private readonly client: Etcd3;
  private readonly lease: LeaseClient;
  /** The reads every round makes (status, member list, alarms) take this much cheaper path. */
  private readonly reads: GrpcUnaryClient;
  private token: Promise<string> | undefined;

  constructor(
    readonly endpoint: string,
    tls: TlsMaterial | undefined,
    private readonly options: MemberClientOptions,
  ) {
    const etcdOptions: IOptions = {
      hosts: endpoint,
      dialTimeout: options.dialTimeoutMs,
      faultHandling: { host: () => noop, global: noop },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + options.requestTimeoutMs }),
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': options.maxReconnectBackoffMs,
        // A channel of its own per member client, so tests and multi-cluster setups never share a socket.
        'grpc.use_local_subchannel_pool': 1,
      },
    };
    if (endpoint.startsWith('https:')) {
      etcdOptions.credentials = {
        rootCertificate: tls?.ca ?? Buffer.alloc(0),
        ...(tls?.key ? { privateKey: tls.key } : {}),
        ...(tls?.cert ? { certChain: tls.cert } : {}),
      };
      if (!tls?.ca) delete (etcdOptions.credentials as { rootCertificate?: Buffer }).rootCertificate;
    }
    if (options.auth) etcdOptions.auth = { username: options.auth.username, password: options.auth.password };
    this.client = new Etcd3(etcdOptions);
    this.reads = new GrpcUnaryClient(endpoint, tls, options.dialTimeoutMs);
    // LeaseClient is etcd3's plain RPC stub: a one-shot grant without the keep-alive machinery.
    this.lease = new LeaseClient(
      (this.client as unknown as { pool: ConstructorParameters<typeof LeaseClient>[0] }).pool,
    );
  }

  /** Maintenance.Status answered by this member. */
  async status(): Promise<MemberStatus> {
    return normaliseStatus(
      await this.read('status', '/etcdserverpb.Maintenance/Status', EMPTY_REQUEST, decodeStatusResponse),
    );
  }

  /** Cluster.MemberList as this member knows it (3.4 always answers from its local view). */
  async memberList(): Promise<MemberListEntry[]> {
    return normaliseMemberList(
      await this.read(
        'member list',
        '/etcdserverpb.Cluster/MemberList',
        EMPTY_REQUEST,
        decodeMemberListResponse,
      ),
    );
  }

  /** Active alarms (Maintenance.Alarm GET). */
  async alarms(): Promise<AlarmEntry[]> {
    return normaliseAlarms(
      await this.read(
        'alarm list',
        '/etcdserverpb.Maintenance/Alarm',
        ALARM_GET_REQUEST,
        decodeAlarmResponse,
      ),
    );
  }

  /**
   * One read through the lean client. With authentication on, the token is fetched once and fetched
   * again only when etcd says it is no longer valid (simple tokens expire after 5 idle minutes).
   */
  private async read<T>(
    what: string,
    path: string,
    request: Uint8Array,
    decode: (bytes: Uint8Array) => T,
  ): Promise<T> {
    const timeoutMs = this.options.requestTimeoutMs;
    let bytes: Buffer;
    try {
      if (!this.options.auth) bytes = await this.reads.call(path, request, { timeoutMs });
      else {
        const token = await this.authToken();
        try {
          bytes = await this.reads.call(path, request, { timeoutMs, token });
        } catch (err) {
          if (!(err instanceof GrpcStatusError) || !/auth token|authenticat/i.test(err.message)) throw err;
          this.token = undefined;
          bytes = await this.reads.call(path, request, { timeoutMs, token: await this.authToken() });
        }
      }
    } catch (err) {
      throw readError(this.endpoint, what, err, timeoutMs);
    }
    try {
      return decode(bytes);
    } catch (err) {
      throw new MemberRequestError(
        'MEMBER_BAD_RESPONSE',
        this.endpoint,
        `${what}: not the expected protobuf message (${(err as Error).message})`,
        { cause: err },
      );
    }
  }

  private authToken(): Promise<string> {
    const auth = this.options.auth;
    if (!auth) return Promise.resolve('');
    this.token ??= this.reads
      .call('/etcdserverpb.Auth/Authenticate', encodeAuthenticateRequest(auth.username, auth.password), {
        timeoutMs: this.options.requestTimeoutMs,
      })
      .then((bytes) => decodeAuthenticateResponse(bytes).token);
    this.token.catch(() => {
      this.token = undefined;
    });
    return this.token;
  }

  /** Maintenance.HashKV at `revision`: a hash of the whole MVCC history up to it (expensive; run rarely). */
  async hashKv(revision: number): Promise<MemberHashKv> {
    // etcd3 1.1.2 calls grpc-js method "hashKV", but grpc-js names it "hashKv" (lodash camelCase of
    // HashKV), so etcd3's own maintenance.hashKV always fails with "client[method] is not a function".
    const pool = (
      this.client as unknown as {
        pool: { exec: (service: string, method: string, req: unknown) => Promise<IHashKVResponse> };
      }
    ).pool;
    const res = await this.call('hashkv', () => pool.exec('Maintenance', 'hashKv', { revision }));
    return { revision, hash: Number(res.hash), compactRevision: Number(res.compact_revision ?? 0) };
  }

  /**
   * Writes then linearizably reads one key through this member, timing each as a client sees it.
   * The key hangs on a fresh short lease so probe keys expire on their own even if the exporter dies.
   */
  async probe(key: string, leaseTtlSeconds: number): Promise<ProbeResult> {
    // A fresh lease per probe, never reused: the key is re-attached to it, so it expires at most one
    // TTL after the last probe. A failed grant fails the probe; there is no unleased fallback.
    const grant = await this.call('probe lease grant', () => this.lease.leaseGrant({ TTL: leaseTtlSeconds }));
    // Lease 0 means "no lease" in a PutRequest: a key put with it would stay forever.
    if (!/^[1-9]\d*$/.test(String(grant.ID)) || grant.error) {
      throw new MemberRequestError(
        'MEMBER_BAD_RESPONSE',
        this.endpoint,
        `probe lease grant: no usable lease (ID ${JSON.stringify(grant.ID)}${grant.error ? `, ${grant.error}` : ''}); probe key not written`,
      );
    }
    const value = String(Date.now());
    const writeStart = process.hrtime.bigint();
    await this.call('probe write', () => this.client.put(key).value(value).lease(grant.ID).exec());
    const writeSeconds = Number(process.hrtime.bigint() - writeStart) / 1e9;
    const readStart = process.hrtime.bigint();
    const read = await this.call('probe read', () => this.client.get(key).string());
    const readSeconds = Number(process.hrtime.bigint() - readStart) / 1e9;
    if (read !== value) {
      throw new MemberRequestError(
        'MEMBER_BAD_RESPONSE',
        this.endpoint,
        `probe read returned ${JSON.stringify(read)}, expected what was just written`,
      );
    }
    return { writeSeconds, readSeconds };
  }

  /** Closes the gRPC channels. */
  close(): void {
    this.client.close();
    this.reads.close();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyGrpcError(this.endpoint, what, err, this.options.requestTimeoutMs);
    }
  }
}

function classifyGrpcError(
  endpoint: string,
  what: string,
  err: unknown,
  timeoutMs: number,
): MemberRequestError {
  if (err instanceof MemberRequestError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/deadline|timed? ?out/i.test(message)) {
    return new MemberRequestError('MEMBER_TIMEOUT', endpoint, `${what}: no answer within ${timeoutMs} ms`, {
      cause: err,
    });
  }
  if (/certificate|ssl|tls|handshake|alert/i.test(message)) {
    return new MemberRequestError('MEMBER_TLS', endpoint, `${what}: TLS failure: ${tlsHint(message)}`, {
      cause: err,
    });
  }
  return new MemberRequestError('MEMBER_UNREACHABLE', endpoint, `${what}: ${message}`, { cause: err });
}

/** What a failed lean read means for this member, worded like the etcd3 path's errors. */
function readError(endpoint: string, what: string, err: unknown, timeoutMs: number): MemberRequestError {
  if (err instanceof GrpcStatusError) {
    if (err.grpcCode === GRPC_DEADLINE_EXCEEDED) {
      return new MemberRequestError('MEMBER_TIMEOUT', endpoint, `${what}: no answer within ${timeoutMs} ms`, {
        cause: err,
      });
    }
    const kind = err.grpcCode === GRPC_UNAUTHENTICATED ? 'authentication failed: ' : '';
    // UNAVAILABLE: the member is up but cannot serve (stopping, or the request was refused).
    const code = err.grpcCode === GRPC_UNAVAILABLE ? 'MEMBER_UNREACHABLE' : 'MEMBER_BAD_RESPONSE';
    return new MemberRequestError(code, endpoint, `${what}: ${kind}${err.message}`, { cause: err });
  }
  if (err instanceof MemberRequestError) {
    return new MemberRequestError(
      err.code as ConstructorParameters<typeof MemberRequestError>[0],
      endpoint,
      `${what}: ${err.message.slice(endpoint.length + 2)}`,
      { cause: err.cause ?? err },
    );
  }
  return classifyGrpcError(endpoint, what, err, timeoutMs);
}
