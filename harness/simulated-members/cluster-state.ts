import { randomBytes } from 'node:crypto';

/**
 * The state one simulated etcd cluster keeps: identities, the leader, raft index and term, and a small
 * MVCC key space holding only what the exporter's probe writes (one key per member, each on a lease).
 * Members of one cluster share it, so every member answers with the same revision, leader and hash,
 * as a healthy real cluster does between two writes.
 */

export interface SimMember {
  readonly name: string;
  /** Member ID as etcd's protobuf carries it (uint64) and in lower-case hex as etcd_server_id labels it. */
  readonly id: bigint;
  readonly idHex: string;
  readonly host: string;
  port: number;
  readonly cluster: SimCluster;
  /** Position in its cluster; member 0 is the leader. */
  readonly index: number;
  /** Unix ms the member's metrics count from (spread so members of one role do not all print the same values). */
  readonly metricsEpochMs: number;
  readonly clientUrl: () => string;
  /** Advertised in the member list only: nothing listens there (the exporter never dials peer URLs). */
  readonly peerUrl: () => string;
  /** gRPC calls this member served, by path, for its grpc_server_* series. */
  readonly calls: Map<string, CallCounts>;
}

/** What go-grpc-prometheus counts for one method: started, messages in and out, and handled by status code. */
export interface CallCounts {
  started: number;
  received: number;
  sent: number;
  /** Indexed by gRPC status code (0 OK … 16 UNAUTHENTICATED). */
  readonly handled: number[];
}

export function callCounts(member: SimMember, path: string): CallCounts {
  let counts = member.calls.get(path);
  if (!counts)
    member.calls.set(
      path,
      (counts = { started: 0, received: 0, sent: 0, handled: new Array<number>(17).fill(0) }),
    );
  return counts;
}

interface StoredKey {
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: string;
  readonly expiresAtMs: number;
}

/** A random non-zero 64-bit ID, as etcd derives member and cluster IDs from a hash. */
export function randomId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE();
    if (id !== 0n) return id;
  }
}

/** etcd's ErrFutureRev and ErrCompacted answers of HashKV, as gRPC statuses (OUT_OF_RANGE = 11). */
export class SimGrpcError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

export class SimCluster {
  readonly id = randomId();
  readonly members: SimMember[] = [];
  readonly raftTerm = 2;
  revision: number;
  raftIndex: number;
  /** Raft index at start: entries since drive the per-entry histograms (metric-slots.ts). */
  readonly startRaftIndex: number;
  /** Entries applied by operation (metric-slots.ts APPLIED_OPS), for etcd 3.5's apply-duration series. */
  readonly applied = new Map<string, number>();
  private readonly keys = new Map<string, StoredKey>();
  private readonly leases = new Map<string, number>();
  // Lease IDs: a random high half per cluster and a counter, positive int64 like etcd's.
  private readonly leaseBase = BigInt(randomBytes(4).readUInt32BE() & 0x3fffffff) << 32n;
  private nextLease = 1n;

  /** Starts where the captured leader's Status was (e.g. 3.4: revision 23, raft index 34). */
  constructor(
    readonly name: string,
    start: { readonly version: string; readonly revision: number; readonly raftIndex: number },
  ) {
    this.version = start.version;
    this.revision = start.revision;
    this.raftIndex = start.raftIndex;
    this.startRaftIndex = start.raftIndex;
  }

  /** etcd's version as Status answers it (the capture's, e.g. 3.4.23). */
  readonly version: string;

  get leader(): SimMember {
    return this.members[0]!;
  }

  grantLease(ttlSeconds: number, now = Date.now()): { id: string; ttl: number } {
    if (this.leases.size > 4 * this.members.length + 16) {
      for (const [id, expires] of this.leases) if (expires <= now) this.leases.delete(id);
    }
    const id = String(this.leaseBase + this.nextLease++);
    const ttl = Math.max(ttlSeconds, 1);
    this.leases.set(id, now + ttl * 1000);
    this.apply('LeaseGrant');
    return { id, ttl };
  }

  /** Put: a new revision; a key on an unknown or expired lease is refused as etcd does (ErrLeaseNotFound). */
  put(key: string, value: Buffer, lease: string, now = Date.now()): void {
    let expiresAtMs = Number.POSITIVE_INFINITY;
    if (lease !== '0') {
      const expires = this.leases.get(lease);
      if (expires === undefined || expires <= now)
        throw new SimGrpcError(5, 'etcdserver: requested lease not found');
      expiresAtMs = expires;
    }
    const before = this.live(key, now);
    this.revision++;
    this.apply('Put');
    this.keys.set(key, {
      value,
      createRevision: before?.createRevision ?? this.revision,
      modRevision: this.revision,
      version: (before?.version ?? 0) + 1,
      lease,
      expiresAtMs,
    });
  }

  /** A single key (the probe's read); keys whose lease ran out are gone, as etcd's lessor revokes them. */
  get(key: string, now = Date.now()): StoredKey | undefined {
    return this.live(key, now);
  }

  /**
   * HashKV at `revision` (0 = current): the same for every member, different for each revision. etcd
   * answers ErrFutureRev for a revision it has not reached (mvcc/kvstore.go HashByRev).
   */
  hashAt(revision: number): { hash: number; revision: number } {
    const at = revision === 0 ? this.revision : revision;
    if (at > this.revision) throw new SimGrpcError(11, 'mvcc: required revision is a future revision');
    // FNV-1a over the cluster ID and the revision: stable, cheap, and uint32 like etcd's crc32.
    let h = 0x811c9dc5;
    for (const byte of Buffer.from(`${this.id}/${at}`)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    return { hash: h, revision: this.revision };
  }

  /** One raft entry of operation `op`, committed and applied by every member at once. */
  apply(op: string): void {
    this.raftIndex++;
    this.applied.set(op, (this.applied.get(op) ?? 0) + 1);
  }

  private live(key: string, now: number): StoredKey | undefined {
    const found = this.keys.get(key);
    if (found && found.expiresAtMs <= now) {
      this.keys.delete(key);
      return undefined;
    }
    return found;
  }
}
