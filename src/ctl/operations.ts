import type { Etcd3 } from 'etcd3';
import type { AlarmEntry, MemberListEntry } from '../etcd/types.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, openClient, type EtcdConnection } from './client.js';
import * as cluster from './cluster.js';
import * as kv from './kv.js';
import * as lw from './lease-watch.js';
import * as maint from './maintenance.js';
import * as tx from './txn.js';

export type { EtcdConnection } from './client.js';
export type { EndpointHealth, EndpointStatus } from './cluster.js';
export type { DeleteResult, GetOptions, GetResult, KeyRange, KeyValue, PutResult } from './kv.js';
export type { KeepAliveOptions, LeaseInfo, WatchEvent, WatchOptions } from './lease-watch.js';
export type { DefragMemberResult, DefragOptions, SnapshotResult } from './maintenance.js';
export type { CasResult, TxnCompare, TxnOp, TxnResult, TxnSpec } from './txn.js';

/**
 * Typed etcd operations (what `etcd-monitor ctl` runs), over one connection. Failures are CtlErrors whose
 * `kind` says what went wrong (NOT_FOUND, UNAVAILABLE, AUTH, ...). Call close() when done.
 */
export class EtcdOperations {
  private shared: Etcd3 | undefined;

  constructor(readonly connection: EtcdConnection) {}

  /** The client over every endpoint, opened on first use (reading credential files then). */
  private get client(): Etcd3 {
    this.shared ??= openClient(this.connection);
    return this.shared;
  }

  /** Releases the gRPC connections. */
  close(): void {
    this.shared?.close();
    this.shared = undefined;
  }

  /** Reads one key, a range or a prefix. */
  get(opts: kv.GetOptions): Promise<kv.GetResult> {
    return kv.get(this.client, opts);
  }

  /** Writes one key, optionally attached to a lease (hex ID). */
  put(key: string, value: string, opts?: { lease?: string; prevKv?: boolean }): Promise<kv.PutResult> {
    return kv.put(this.client, key, value, opts);
  }

  /** Deletes one key, a range or a prefix. */
  del(range: kv.KeyRange, opts?: { prevKv?: boolean }): Promise<kv.DeleteResult> {
    return kv.del(this.client, range, opts);
  }

  /** Runs a transaction; `succeeded` tells which branch ran. */
  txn(spec: tx.TxnSpec): Promise<tx.TxnResult> {
    return tx.txn(this.client, spec);
  }

  /** Writes `value` only if the key holds `expected` (null: only if the key does not exist). */
  compareAndSwap(key: string, expected: string | null, value: string): Promise<tx.CasResult> {
    return tx.compareAndSwap(this.client, key, expected, value);
  }

  /** Compacts history up to `revision`. */
  compact(
    revision: number,
    opts?: { physical?: boolean },
  ): Promise<{ revision: number; compactedTo: number }> {
    return kv.compact(this.client, revision, opts);
  }

  /** Watches a key or range until maxEvents or the signal; resolves with the events seen. */
  watch(range: kv.KeyRange, opts?: lw.WatchOptions): Promise<lw.WatchEvent[]> {
    return lw.watch(this.client, range, {
      connectTimeoutMs: this.connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...opts,
    });
  }

  /** Grants a lease. */
  leaseGrant(ttlSeconds: number): Promise<lw.LeaseInfo> {
    return lw.leaseGrant(this.client, ttlSeconds);
  }

  /** Every lease the cluster holds (hex IDs). */
  leaseList(): Promise<{ header: kv.RawHeader; ids: string[] }> {
    return lw.leaseList(this.client);
  }

  /** Revokes a lease, deleting its keys. */
  leaseRevoke(id: string): Promise<{ id: string; revision: number }> {
    return lw.leaseRevoke(this.client, id);
  }

  /** Remaining TTL of a lease (NOT_FOUND once expired). */
  leaseTimeToLive(id: string, opts?: { keys?: boolean }): Promise<lw.LeaseInfo> {
    return lw.leaseTimeToLive(this.client, id, opts);
  }

  /** Keeps a lease alive until the signal aborts, or renews it once. */
  leaseKeepAlive(id: string, opts?: lw.KeepAliveOptions): Promise<lw.LeaseInfo | undefined> {
    return lw.leaseKeepAlive(this.client, id, {
      connectTimeoutMs: this.connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...opts,
    });
  }

  /** Members of the cluster. */
  memberList(): Promise<MemberListEntry[]> {
    return cluster.memberList(this.client);
  }

  /** Members of the cluster with the response header. */
  memberListWithHeader(): Promise<{ header: kv.RawHeader; members: MemberListEntry[] }> {
    return cluster.memberListWithHeader(this.client);
  }

  /** Adds a member (optionally as a learner) by its peer URLs. */
  memberAdd(
    peerUrls: readonly string[],
    opts?: { learner?: boolean },
  ): Promise<{ member: MemberListEntry; members: MemberListEntry[] }> {
    return cluster.memberAdd(this.client, peerUrls, opts);
  }

  /** Removes a member by hex ID. */
  memberRemove(id: string): Promise<{ id: string }> {
    return cluster.memberRemove(this.client, id);
  }

  /** Promotes a caught-up learner to a voting member. */
  memberPromote(id: string): Promise<{ id: string }> {
    return cluster.memberPromote(this.client, id);
  }

  /** The endpoints to address: the configured ones, or with `cluster` every started member's client URL. */
  async endpoints(opts: { cluster?: boolean } = {}): Promise<string[]> {
    return opts.cluster ? cluster.clusterEndpoints(this.client) : [...this.connection.endpoints];
  }

  /** etcdctl endpoint health, per endpoint. */
  async endpointHealth(opts: { cluster?: boolean } = {}): Promise<cluster.EndpointHealth[]> {
    const endpoints = await this.endpoints(opts);
    return Promise.all(endpoints.map((e) => cluster.endpointHealth(this.connection, e)));
  }

  /** etcdctl endpoint status, per endpoint; unreachable endpoints are listed in `errors`. */
  async endpointStatus(
    opts: { cluster?: boolean } = {},
  ): Promise<{ statuses: cluster.EndpointStatus[]; errors: { endpoint: string; error: string }[] }> {
    return cluster.statuses(this.connection, await this.endpoints(opts));
  }

  /** Active alarms. */
  alarmList(): Promise<AlarmEntry[]> {
    return cluster.alarmList(this.client);
  }

  /** Clears every active alarm; returns the ones cleared. */
  alarmDisarm(): Promise<AlarmEntry[]> {
    return cluster.alarmDisarm(this.client);
  }

  /** Defragments one member at a time, leader last, with health checks; see defragCluster. */
  defrag(opts?: maint.DefragOptions): Promise<maint.DefragMemberResult[]> {
    return maint.defragCluster(this.connection, opts);
  }

  /** Saves a verified snapshot from one endpoint (default: the first configured). */
  snapshotSave(
    path: string,
    opts: { endpoint?: string; timeoutMs?: number } = {},
  ): Promise<maint.SnapshotResult> {
    const endpoint = opts.endpoint ?? (this.connection.endpoints[0] as string);
    return maint.snapshotSave(this.connection, endpoint, path, opts);
  }

  /** Transfers leadership to the member with hex ID `targetId`. */
  async moveLeader(targetId: string): Promise<{ from: string; to: string }> {
    return cluster.moveLeader(this.connection, await this.endpoints({ cluster: true }), targetId);
  }
}
