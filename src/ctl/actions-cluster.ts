import {
  fields,
  headerFields,
  hexNum,
  jsonHeader,
  num,
  goHumanBytes,
  type FieldValue,
} from './etcdctl-format.js';
import { humanBytes } from './format.js';
import type { RawHeader } from './kv.js';
import { snapshotStatus } from './snapshot-status.js';
import { b, type Action } from './action-types.js';

/** member, endpoint, alarm, defrag, snapshot and move-leader subcommands. */
export const clusterActions: Record<string, Action> = {
  async 'member-list'(ops) {
    const { header, members } = await ops.memberListWithHeader();
    const status = (m: (typeof members)[number]): string => (m.name ? 'started' : 'unstarted');
    return {
      data: { members },
      simple: members
        .map(
          (m) =>
            `${[m.id, status(m), m.name, m.peerUrls.join(','), m.clientUrls.join(','), m.isLearner].join(', ')}\n`,
        )
        .join(''),
      json: {
        header: { ...jsonHeader(header), revision: undefined },
        members: members.map((m) => ({
          ID: hexNum(m.id),
          name: m.name || undefined,
          peerURLs: m.peerUrls,
          clientURLs: m.clientUrls.length > 0 ? m.clientUrls : undefined,
          isLearner: m.isLearner || undefined,
        })),
      },
      fields: `${fields([
        ...headerFields(header),
        ...members.flatMap((m): [string, FieldValue][] => [
          ['ID', hexNum(m.id)],
          ['Name', m.name],
          ...m.peerUrls.map((u): [string, FieldValue] => ['PeerURL', u]),
          ...m.clientUrls.map((u): [string, FieldValue] => ['ClientURL', u]),
          ['IsLearner', m.isLearner],
        ]),
      ])}\n`,
      table: {
        headers: ['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'],
        rows: members.map((m) => [
          m.id,
          m.name ? 'started' : 'unstarted',
          m.name,
          m.peerUrls.join(','),
          m.clientUrls.join(','),
          m.isLearner,
        ]),
      },
    };
  },
  async 'member-add'(ops, a) {
    const peerUrls = String(a['peer-urls'])
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    const res = await ops.memberAdd(peerUrls, { learner: b(a, 'learner') });
    // What the new member must be started with, as etcdctl prints it.
    const initialCluster = res.members
      .flatMap((m) => m.peerUrls.map((u) => `${m.id === res.member.id ? String(a.name) : m.name}=${u}`))
      .join(',');
    const env = {
      ETCD_NAME: String(a.name),
      ETCD_INITIAL_CLUSTER: initialCluster,
      ETCD_INITIAL_CLUSTER_STATE: 'existing',
    };
    return {
      data: { ...res, env },
      table: `Member ${res.member.id} added${res.member.isLearner ? ' as learner' : ''}\n${Object.entries(env)
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n')}\n`,
    };
  },
  async 'member-remove'(ops, a) {
    const res = await ops.memberRemove(String(a.id));
    return { data: res, table: `Member ${res.id} removed\n` };
  },
  async 'member-promote'(ops, a) {
    const res = await ops.memberPromote(String(a.id));
    return { data: res, table: `Member ${res.id} promoted\n` };
  },
  async 'endpoint-health'(ops, a) {
    const health = await ops.endpointHealth({ cluster: b(a, 'cluster') });
    return {
      data: { endpoints: health },
      simple: health
        .map((h) =>
          h.healthy
            ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.tookMs}ms\n`
            : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error ?? 'unknown error'}\n`,
        )
        .join(''),
      json: health.map((h) => ({
        endpoint: h.endpoint,
        health: h.healthy,
        took: `${h.tookMs}ms`,
        error: h.error,
      })),
      table: {
        headers: ['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'],
        rows: health.map((h) => [h.endpoint, h.healthy, `${h.tookMs}ms`, h.error ?? '']),
      },
      exitCode: health.every((h) => h.healthy) ? 0 : 4,
    };
  },
  async 'endpoint-status'(ops, a) {
    const res = await ops.endpointStatus({ cluster: b(a, 'cluster') });
    const rows = res.statuses.map((st) => [
      st.endpoint,
      st.memberId,
      st.version,
      humanBytes(st.dbSizeBytes),
      humanBytes(st.dbSizeInUseBytes),
      st.isLeader,
      st.isLearner,
      st.raftTerm,
      st.raftIndex,
      st.raftAppliedIndex,
      st.errors.join('; '),
    ]);
    for (const e of res.errors) rows.push([e.endpoint, '', '', '', '', '', '', '', '', '', e.error]);
    const header = (st: (typeof res.statuses)[number]): RawHeader => ({
      cluster_id: BigInt(`0x${st.clusterId}`).toString(),
      member_id: BigInt(`0x${st.memberId}`).toString(),
      revision: String(st.revision),
      raft_term: String(st.raftTerm),
    });
    return {
      data: res,
      simple: res.statuses
        .map(
          (st) =>
            `${[
              st.endpoint,
              st.memberId,
              st.version,
              goHumanBytes(st.dbSizeBytes),
              st.isLeader,
              st.isLearner,
              st.raftTerm,
              st.raftIndex,
              st.raftAppliedIndex,
              st.errors.join(', '),
            ].join(', ')}\n`,
        )
        .join(''),
      json: res.statuses.map((st) => ({
        Endpoint: st.endpoint,
        Status: {
          header: jsonHeader(header(st)),
          version: st.version,
          dbSize: num(st.dbSizeBytes),
          leader: hexNum(st.leaderId),
          raftIndex: num(st.raftIndex),
          raftTerm: num(st.raftTerm),
          raftAppliedIndex: num(st.raftAppliedIndex),
          errors: st.errors.length > 0 ? st.errors : undefined,
          dbSizeInUse: num(st.dbSizeInUseBytes),
          isLearner: st.isLearner || undefined,
        },
      })),
      fields: res.statuses
        .map((st) =>
          fields([
            ...headerFields(header(st)),
            ['Version', st.version],
            ['DBSize', num(st.dbSizeBytes)],
            ['Leader', hexNum(st.leaderId)],
            ['IsLearner', st.isLearner],
            ['RaftIndex', num(st.raftIndex)],
            ['RaftTerm', num(st.raftTerm)],
            ['RaftAppliedIndex', num(st.raftAppliedIndex)],
            ['Errors', [...st.errors]],
            ['Endpoint', st.endpoint],
          ]),
        )
        .map((block) => `${block}\n`)
        .join(''),
      table: {
        headers: [
          'ENDPOINT',
          'ID',
          'VERSION',
          'DB SIZE',
          'DB IN USE',
          'IS LEADER',
          'IS LEARNER',
          'RAFT TERM',
          'RAFT INDEX',
          'RAFT APPLIED INDEX',
          'ERRORS',
        ],
        rows,
      },
      exitCode: res.errors.length === 0 ? 0 : 4,
    };
  },
  async 'alarm-list'(ops) {
    const alarms = await ops.alarmList();
    return {
      data: { alarms },
      table: alarms.map((x) => `memberID:${x.memberId} alarm:${x.alarm}\n`).join(''),
      // etcdctl prints the member ID in decimal here (%d of the uint64).
      simple: alarms.map((x) => `memberID:${BigInt(`0x${x.memberId}`)} alarm:${x.alarm}\n`).join(''),
    };
  },
  async 'alarm-disarm'(ops) {
    const alarms = await ops.alarmDisarm();
    return {
      data: { disarmed: alarms },
      table: alarms.map((x) => `disarmed memberID:${x.memberId} alarm:${x.alarm}\n`).join(''),
    };
  },
  async defrag(ops, a, io) {
    const endpoints = b(a, 'cluster') ? undefined : await ops.endpoints();
    const json = a.output === 'json';
    const members = await ops.defrag({
      ...(endpoints ? { endpoints } : {}),
      ...(a.timeout !== undefined ? { timeoutMs: Number(a.timeout) * 1000 } : {}),
      ...(a['health-timeout'] !== undefined ? { healthTimeoutMs: Number(a['health-timeout']) * 1000 } : {}),
      onMember: (m) => {
        if (!json)
          io.writeErr(`defragmented ${m.endpoint}${m.wasLeader ? ' (leader)' : ''} in ${m.durationMs}ms\n`);
      },
    });
    return {
      data: { members },
      table: {
        headers: ['ENDPOINT', 'ID', 'WAS LEADER', 'DB SIZE BEFORE', 'DB SIZE AFTER', 'TOOK'],
        rows: members.map((m) => [
          m.endpoint,
          m.memberId,
          m.wasLeader,
          humanBytes(m.dbSizeBeforeBytes),
          humanBytes(m.dbSizeAfterBytes),
          `${m.durationMs}ms`,
        ]),
      },
    };
  },
  async 'snapshot-save'(ops, a) {
    const res = await ops.snapshotSave(
      String(a.path),
      a.timeout !== undefined ? { timeoutMs: Number(a.timeout) * 1000 } : {},
    );
    return {
      data: res,
      table: `Snapshot saved at ${res.path} (${res.sizeBytes} bytes, sha256 ${res.sha256} verified)\n`,
    };
  },
  async 'snapshot-status'(_ops, a) {
    // Reads the file only: no endpoint is contacted.
    const st = snapshotStatus(String(a.path));
    const hash = st.hash.toString(16);
    return {
      data: st,
      table: {
        headers: ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'],
        rows: [[hash, st.revision, st.totalKeys, goHumanBytes(st.totalSize)]],
      },
      simple: `${hash}, ${st.revision}, ${st.totalKeys}, ${goHumanBytes(st.totalSize)}\n`,
      json: {
        hash: num(st.hash),
        revision: num(st.revision),
        totalKey: num(st.totalKeys),
        totalSize: num(st.totalSize),
      },
      fields: fields([
        ['Hash', num(st.hash)],
        ['Revision', num(st.revision)],
        ['Keys', num(st.totalKeys)],
        ['Size', num(st.totalSize)],
      ]),
    };
  },
  async 'move-leader'(ops, a) {
    const res = await ops.moveLeader(String(a.id));
    return { data: res, table: `Leadership transferred from ${res.from} to ${res.to}\n` };
  },
};
