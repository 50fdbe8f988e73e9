import { memberVar, clusterVar } from './variables.js';
import { clientsRow, snapshotsRow } from './member-detail-data.js';
import { diskRow, peersRow, raftRow } from './member-detail-raft.js';
import { resourcesRow, statusRow } from './member-detail-status.js';
import type { DashboardSpec } from './spec.js';
import { UID } from './uids.js';

// The rows live in member-detail-*.ts, grouped by what they show.

/** One or more members in depth: USE, disk latency, raft, peers, watchers and snapshots. */
export const memberDetail: DashboardSpec = {
  uid: UID.member,
  title: 'etcd / Member detail',
  summary:
    'Per member: USE (CPU, memory, FDs, disk, network), disk latency, raft proposals, apply lag, peers, watchers, snapshots',
  description:
    "Per-member resources (CPU, memory, file descriptors, disk, network), WAL fsync and backend commit latency, raft proposals and apply lag, peer round trips, watchers and clients, snapshots and compactions. Uses etcd-monitor's derived series and each member's own etcd series re-exposed with cluster and member labels.",
  tags: ['etcd', 'member'],
  variables: [clusterVar, memberVar],
  rows: [statusRow, resourcesRow, diskRow, raftRow, peersRow, clientsRow, snapshotsRow],
};
