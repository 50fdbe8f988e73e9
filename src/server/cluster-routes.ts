import { Router, type Request } from 'express';
import { COLLECTORS, type ClusterSnapshot, type MemberSnapshot } from '../collect/snapshot.js';
import type { ClusterView } from '../derive/view.js';
import { clusterStatusJson } from '../monitor/cluster-status.js';
import type { Monitor } from '../monitor/monitor.js';
import { HttpError } from '../http/errors.js';

const ms = (seconds: number | undefined) => (seconds === undefined ? null : Math.round(seconds * 1e6) / 1e3);
const sum = (values: (number | undefined)[]) => values.reduce<number>((total, v) => total + (v ?? 0), 0);
const iso = (at: number | undefined) => (at === undefined ? null : new Date(at).toISOString());

/** The view selected by ?cluster= (default: the first configured cluster). */
function selectView(monitor: Monitor, req: Request): ClusterView {
  const requested = req.query['cluster'];
  if (requested !== undefined && typeof requested !== 'string')
    throw new HttpError(400, 'BAD_PARAMETER', 'cluster must be given once');
  if (requested !== undefined && !monitor.clusterNames().includes(requested)) {
    throw new HttpError(
      404,
      'UNKNOWN_CLUSTER',
      `no cluster named "${requested}" (known: ${monitor.clusterNames().join(', ')})`,
    );
  }
  if (monitor.clusterNames().length === 0) {
    // A shard that no configured cluster hashes to: healthy and ready, just with nothing to show.
    const { index, count } = monitor.config.shard;
    throw new HttpError(404, 'NO_CLUSTERS', `this replica (shard ${index} of ${count}) watches no cluster`);
  }
  const view = monitor.view(requested);
  if (!view) throw new HttpError(503, 'NOT_READY', 'the first collection round has not finished yet');
  return view;
}

/**
 * Each collector's last outcome against one member, with the stable code and message of a failure,
 * and the newest of those failures as `last_error`: why a member is unreachable (TLS, refused,
 * timeout, auth, bad response) without reading the exporter's log.
 */
function collectorErrors(member: MemberSnapshot | undefined) {
  const collectors: Record<string, unknown> = {};
  let last: { collector: string; code: string; message: string; at: number } | undefined;
  for (const collector of COLLECTORS) {
    const r = member?.[collector];
    if (!r) continue;
    const errorsTotal = sum(Object.values(member.errorCounts?.[collector] ?? {}));
    collectors[collector] = r.ok
      ? { ok: true, at: iso(r.at), errors_total: errorsTotal }
      : { ok: false, code: r.code, message: r.error, at: iso(r.at), errors_total: errorsTotal };
    if (!r.ok && (!last || r.at > last.at)) last = { collector, code: r.code, message: r.error, at: r.at };
  }
  return { last_error: last ? { ...last, at: iso(last.at) } : null, collectors };
}

/** The body of GET /cluster/members (also what the status page at / renders first). */
export function membersJson(v: ClusterView, snapshot: ClusterSnapshot | undefined) {
  return {
    cluster: v.cluster,
    members: v.members.map((m) => ({
      ...collectorErrors(snapshot?.members.find((sm) => sm.endpoint === m.endpoint)),
      id: m.memberId ?? null,
      name: m.member,
      endpoint: m.endpoint,
      up: m.up,
      healthy: m.healthy,
      health_state: m.healthState,
      health_reason: m.healthReason,
      is_leader: m.isLeader ?? false,
      is_learner: m.isLearner ?? false,
      version: m.version ?? null,
      raft_term: m.raftTerm ?? null,
      raft_index: m.raftIndex ?? null,
      raft_applied_index: m.raftAppliedIndex ?? null,
      revision: m.revision ?? null,
      db_size: m.dbSizeBytes ?? null,
      db_size_in_use: m.dbSizeInUseBytes ?? null,
      db_quota: m.quotaBytes ?? null,
      db_quota_usage_ratio: m.quotaUsageRatio ?? null,
      alarms: m.alarms,
    })),
  };
}

/** Read-only cluster endpoints: the cluster list, status, leader, members, current metrics and latency of one cluster. */
export function createClusterRoutes(monitor: Monitor): Router {
  const router = Router();

  router.get('/clusters', (_req, res) => {
    res.json({
      clusters: monitor.config.clusters.map((c) => {
        const view = monitor.view(c.name);
        return {
          name: c.name,
          endpoints: c.endpoints,
          tags: c.tags,
          healthy: view ? view.healthy : null,
          members: view?.votingMembers ?? null,
        };
      }),
    });
  });

  router.get('/cluster/status', (req, res) => {
    res.json(clusterStatusJson(selectView(monitor, req)));
  });

  router.get('/cluster/leader', (req, res) => {
    const v = selectView(monitor, req);
    const leader = v.members.find((m) => m.isLeader);
    res.json({
      cluster: v.cluster,
      has_leader: v.hasLeader,
      leader_id: v.leaderId ?? null,
      leader_name: v.leaderMember ?? null,
      endpoint: leader?.endpoint ?? null,
      raft_term: leader?.raftTerm ?? null,
      leader_changes: v.leaderChangesTotal,
      last_leader_change: iso(v.lastLeaderChangeAt),
    });
  });

  router.get('/cluster/members', (req, res) => {
    const v = selectView(monitor, req);
    res.json(membersJson(v, monitor.states().find((s) => s.view === v)?.snapshot));
  });

  router.get('/metrics/current', (req, res) => {
    const v = selectView(monitor, req);
    const leader = v.members.find((m) => m.isLeader) ?? v.members.find((m) => m.up);
    res.json({
      cluster: v.cluster,
      timestamp: iso(v.takenAt),
      request_rate: sum(v.members.map((m) => m.requestsPerSecond)),
      error_rate: sum(v.members.map((m) => m.requestErrorsPerSecond)),
      read_latency_p50: ms(v.probe.readP50Seconds),
      read_latency_p95: ms(v.probe.readP95Seconds),
      read_latency_p99: ms(v.probe.readP99Seconds),
      write_latency_p50: ms(v.probe.writeP50Seconds),
      write_latency_p95: ms(v.probe.writeP95Seconds),
      write_latency_p99: ms(v.probe.writeP99Seconds),
      db_size: leader?.dbSizeBytes ?? null,
      db_size_in_use: leader?.dbSizeInUseBytes ?? null,
      latency_unit: 'ms',
    });
  });

  router.get('/metrics/latency', (req, res) => {
    const v = selectView(monitor, req);
    res.json({
      cluster: v.cluster,
      timestamp: iso(v.takenAt),
      unit: 'ms',
      max_latency_ms: v.thresholds.maxLatencyMs,
      above_max_latency: v.probe.aboveMaxLatency,
      read: {
        p50: ms(v.probe.readP50Seconds),
        p95: ms(v.probe.readP95Seconds),
        p99: ms(v.probe.readP99Seconds),
      },
      write: {
        p50: ms(v.probe.writeP50Seconds),
        p95: ms(v.probe.writeP95Seconds),
        p99: ms(v.probe.writeP99Seconds),
      },
      members: v.members.map((m) => ({
        name: m.member,
        wal_fsync_p99: ms(m.walFsyncP99Seconds),
        backend_commit_p99: ms(m.backendCommitP99Seconds),
        peer_round_trip_p99: ms(m.peerRoundTripP99Seconds),
      })),
    });
  });

  return router;
}
