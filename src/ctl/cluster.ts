import { EtcdPermissionDeniedError, type Etcd3, type IMember, type IStatusResponse } from 'etcd3';
import type { AlarmEntry, AlarmType, MemberListEntry, MemberStatus } from '../etcd/types.js';
import { hexToId, idToHex, openClient, type EtcdConnection } from './client.js';
import { CtlError, toCtlError } from './errors.js';
import { rawHeader, type RawHeader } from './kv.js';

/** Maintenance.Status of the member behind one endpoint, plus whether it is the leader. */
export interface EndpointStatus extends MemberStatus {
  readonly endpoint: string;
  readonly isLeader: boolean;
}

/** etcdctl endpoint health semantics: a linearizable read through the endpoint succeeds and no alarm is active. */
export interface EndpointHealth {
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly tookMs: number;
  readonly error?: string;
}

/** Converts an etcd3 member to the shared shape (hex ID). */
export function toMember(m: IMember): MemberListEntry {
  return {
    id: idToHex(m.ID),
    name: m.name,
    peerUrls: m.peerURLs ?? [],
    clientUrls: m.clientURLs ?? [],
    isLearner: Boolean(m.isLearner),
  };
}

/** Converts an etcd3 status response to the shared MemberStatus shape. */
export function toStatus(endpoint: string, s: IStatusResponse): EndpointStatus {
  const memberId = idToHex(s.header.member_id);
  const leaderId = idToHex(s.leader || '0');
  return {
    endpoint,
    memberId,
    clusterId: idToHex(s.header.cluster_id),
    leaderId,
    raftTerm: Number(s.raftTerm),
    raftIndex: Number(s.raftIndex),
    raftAppliedIndex: Number(s.raftAppliedIndex),
    revision: Number(s.header.revision),
    dbSizeBytes: Number(s.dbSize),
    dbSizeInUseBytes: Number(s.dbSizeInUse),
    version: s.version,
    isLearner: Boolean(s.isLearner),
    errors: s.errors ?? [],
    isLeader: memberId === leaderId,
  };
}

/** Runs `fn` with a client that talks to `endpoint` only (status, defrag, alarms are per member). */
export async function withMember<T>(
  conn: EtcdConnection,
  endpoint: string,
  fn: (c: Etcd3) => Promise<T>,
): Promise<T> {
  const client = openClient(conn, [endpoint]);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Cluster.MemberList. */
export async function memberList(client: Etcd3): Promise<MemberListEntry[]> {
  return (await memberListWithHeader(client)).members;
}

/** Cluster.MemberList with its response header (etcdctl's `-w json|fields` print it). */
export async function memberListWithHeader(
  client: Etcd3,
): Promise<{ header: RawHeader; members: MemberListEntry[] }> {
  try {
    const res = await client.cluster.memberList({});
    return { header: rawHeader(res.header), members: res.members.map(toMember) };
  } catch (err) {
    throw toCtlError(err, 'member list');
  }
}

/** Cluster.MemberAdd; returns the new member and the full list (for ETCD_INITIAL_CLUSTER of the new member). */
export async function memberAdd(
  client: Etcd3,
  peerUrls: readonly string[],
  opts: { learner?: boolean } = {},
): Promise<{ member: MemberListEntry; members: MemberListEntry[] }> {
  if (peerUrls.length === 0) throw new CtlError('USAGE', 'member add needs at least one peer URL');
  try {
    const res = await client.cluster.memberAdd({ peerURLs: [...peerUrls], isLearner: opts.learner ?? false });
    return { member: toMember(res.member), members: res.members.map(toMember) };
  } catch (err) {
    throw toCtlError(err, 'member add');
  }
}

/** Cluster.MemberRemove by hex ID. */
export async function memberRemove(client: Etcd3, id: string): Promise<{ id: string }> {
  try {
    await client.cluster.memberRemove({ ID: hexToId(id) });
    return { id };
  } catch (err) {
    throw toCtlError(err, `member remove ${id}`);
  }
}

/** Cluster.MemberPromote (learner → voting member); etcd refuses until the learner has caught up. */
export async function memberPromote(client: Etcd3, id: string): Promise<{ id: string }> {
  try {
    await client.cluster.memberPromote({ ID: hexToId(id) });
    return { id };
  } catch (err) {
    throw toCtlError(err, `member promote ${id}`);
  }
}

/** Maintenance.Status of one endpoint. */
export async function endpointStatus(conn: EtcdConnection, endpoint: string): Promise<EndpointStatus> {
  return withMember(conn, endpoint, async (c) => {
    try {
      return toStatus(endpoint, await c.maintenance.status());
    } catch (err) {
      throw toCtlError(err, `status of ${endpoint}`);
    }
  });
}

/**
 * Health of one endpoint the way etcdctl checks it; never throws, the error is part of the answer.
 * `ignoreAlarms` lets defrag run under NOSPACE, which defrag is part of the cure for.
 */
export async function endpointHealth(
  conn: EtcdConnection,
  endpoint: string,
  opts: { ignoreAlarms?: readonly AlarmType[] } = {},
): Promise<EndpointHealth> {
  const started = performance.now();
  const took = (): number => Math.round((performance.now() - started) * 1000) / 1000;
  try {
    return await withMember(conn, endpoint, async (c) => {
      try {
        await c.kv.range({ key: Buffer.from('health') });
      } catch (err) {
        // A user without read rights on "health" still proves the member answers with quorum (as etcdctl does).
        if (!(err instanceof EtcdPermissionDeniedError)) throw err;
      }
      const alarms = (await alarmList(c)).filter((a) => !opts.ignoreAlarms?.includes(a.alarm));
      if (alarms.length > 0) {
        return {
          endpoint,
          healthy: false,
          tookMs: took(),
          error: `active alarm(s): ${alarms.map((a) => `${a.alarm} on ${a.memberId}`).join(', ')}`,
        };
      }
      return { endpoint, healthy: true, tookMs: took() };
    });
  } catch (err) {
    return { endpoint, healthy: false, tookMs: took(), error: toCtlError(err, endpoint).message };
  }
}

/** Maintenance.Alarm(GET): every active alarm in the cluster. */
export async function alarmList(client: Etcd3): Promise<AlarmEntry[]> {
  try {
    const res = await client.maintenance.alarm({ action: 0, memberID: 0, alarm: 0 });
    return res.alarms
      .map((a) => ({ memberId: idToHex(a.memberID), alarm: String(a.alarm).toUpperCase() as AlarmType }))
      .filter((a) => a.alarm !== 'NONE');
  } catch (err) {
    throw toCtlError(err, 'alarm list');
  }
}

/** Maintenance.Alarm(DEACTIVATE) for every active alarm; returns the alarms it cleared. */
export async function alarmDisarm(client: Etcd3): Promise<AlarmEntry[]> {
  const active = await alarmList(client);
  try {
    for (const a of active) {
      await client.maintenance.alarm({
        action: 2,
        memberID: hexToId(a.memberId),
        alarm: a.alarm === 'CORRUPT' ? 2 : 1,
      });
    }
    return active;
  } catch (err) {
    throw toCtlError(err, 'alarm disarm');
  }
}

/** Client URL of every started member (etcdctl's --cluster); members added but never started have none. */
export async function clusterEndpoints(client: Etcd3): Promise<string[]> {
  const members = await memberList(client);
  return members.flatMap((m) => m.clientUrls.slice(0, 1));
}

/** Statuses of `endpoints`; unreachable ones are reported in `errors` instead of failing the whole call. */
export async function statuses(
  conn: EtcdConnection,
  endpoints: readonly string[],
): Promise<{ statuses: EndpointStatus[]; errors: { endpoint: string; error: string }[] }> {
  const results = await Promise.allSettled(endpoints.map((e) => endpointStatus(conn, e)));
  const out: EndpointStatus[] = [];
  const errors: { endpoint: string; error: string }[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') out.push(r.value);
    else
      errors.push({
        endpoint: endpoints[i] as string,
        error: toCtlError(r.reason, endpoints[i] as string).message,
      });
  });
  return { statuses: out, errors };
}

/**
 * Hands leadership to `targetId` (etcdctl move-leader). Only the current leader accepts MoveLeader, so the
 * request goes to the leader's endpoint, found by asking every endpoint for its status.
 */
export async function moveLeader(
  conn: EtcdConnection,
  endpoints: readonly string[],
  targetId: string,
): Promise<{ from: string; to: string }> {
  const { statuses: all } = await statuses(conn, endpoints);
  const leader = all.find((s) => s.isLeader);
  if (!leader)
    throw new CtlError(
      'UNAVAILABLE',
      'move-leader: none of the endpoints is the leader (give --cluster or every endpoint)',
    );
  const target = hexToId(targetId);
  return withMember(conn, leader.endpoint, async (c) => {
    try {
      await c.maintenance.moveLeader({ targetID: target });
      return { from: leader.memberId, to: idToHex(target) };
    } catch (err) {
      throw toCtlError(err, `move-leader to ${targetId}`);
    }
  });
}
