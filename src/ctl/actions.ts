import { readFile } from 'node:fs/promises';
import { CtlError } from './errors.js';
import { humanBytes, type Table } from './format.js';
import type { KeyRange, KeyValue } from './kv.js';
import type { EtcdOperations } from './operations.js';
import { parseTxnSpec } from './txn.js';

/** What a subcommand produced: `data` is printed as JSON or via `table`; `exitCode` flags a negative answer. */
export interface Outcome {
  readonly data?: unknown;
  readonly table?: Table | string;
  readonly exitCode?: number;
}

/** Where a subcommand writes and how it is interrupted (SIGINT for the process, an AbortSignal in tests). */
export interface CtlIo {
  write(text: string): void;
  writeErr(text: string): void;
  readonly signal?: AbortSignal;
  readStdin?(): Promise<string>;
}

export type Args = Record<string, unknown>;
export type Action = (ops: EtcdOperations, a: Args, io: CtlIo) => Promise<Outcome>;

const s = (a: Args, k: string): string | undefined => (a[k] === undefined ? undefined : String(a[k]));
const n = (a: Args, k: string): number | undefined => (a[k] === undefined ? undefined : Number(a[k]));
const b = (a: Args, k: string): boolean => a[k] === true;

function range(a: Args): KeyRange {
  return {
    key: String(a['key-name'] ?? ''),
    ...(a['range-end'] !== undefined ? { rangeEnd: String(a['range-end']) } : {}),
    prefix: b(a, 'prefix'),
    fromKey: b(a, 'from-key'),
  };
}

const kvTable = (kvs: readonly KeyValue[]): Table => ({
  headers: ['KEY', 'VALUE', 'CREATE_REV', 'MOD_REV', 'VERSION', 'LEASE'],
  rows: kvs.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease]),
});

/** Combines a signal from the io with an optional --timeout, for commands that run until interrupted. */
function untilSignal(io: CtlIo, timeout: unknown): AbortSignal | undefined {
  const signals = [
    io.signal,
    timeout === undefined ? undefined : AbortSignal.timeout(Number(timeout) * 1000),
  ];
  const present = signals.filter((x): x is AbortSignal => x !== undefined);
  return present.length === 0 ? undefined : AbortSignal.any(present);
}

/** --timeout ran out before the stream was established: the command did nothing, so it failed. */
function notConnected(what: string, ops: EtcdOperations, timeout: unknown): CtlError {
  return new CtlError(
    'UNAVAILABLE',
    `${what}: no answer from ${ops.connection.endpoints.join(',')} within --timeout ${String(timeout)}s`,
  );
}

export const actions: Record<string, Action> = {
  async get(ops, a) {
    const r = range(a);
    const res = await ops.get({
      ...r,
      ...(a.limit !== undefined ? { limit: n(a, 'limit') } : {}),
      ...(a.rev !== undefined ? { revision: n(a, 'rev') } : {}),
      serializable: b(a, 'serializable'),
      keysOnly: b(a, 'keys-only'),
      countOnly: b(a, 'count-only'),
    });
    const single = r.rangeEnd === undefined && !r.prefix && !r.fromKey;
    // A missing single key is a distinct answer scripts test for; an empty range is not.
    const exitCode = single && res.count === 0 ? 3 : 0;
    const table = b(a, 'count-only') ? `${res.count}\n` : kvTable(res.kvs);
    return { data: res, table, exitCode };
  },
  async put(ops, a) {
    const res = await ops.put(String(a['key-name']), String(a.value), {
      ...(a.lease !== undefined ? { lease: s(a, 'lease') } : {}),
      prevKv: b(a, 'prev-kv'),
    });
    return { data: res, table: `OK (revision ${res.revision})\n` };
  },
  async del(ops, a) {
    const res = await ops.del(range(a), { prevKv: b(a, 'prev-kv') });
    return { data: res, table: `${res.deleted}\n` };
  },
  async txn(ops, a, io) {
    const file = s(a, 'file');
    let text: string;
    if (a.spec !== undefined) text = String(a.spec);
    else if (file && file !== '-') text = await readFile(file, 'utf8');
    else if (io.readStdin) text = await io.readStdin();
    else throw new CtlError('USAGE', 'txn needs --spec, --file or a JSON document on stdin');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new CtlError('USAGE', `txn: not valid JSON: ${(err as Error).message}`);
    }
    const res = await ops.txn(parseTxnSpec(doc));
    return {
      data: res,
      table: `${res.succeeded ? 'SUCCESS' : 'FAILURE'} (revision ${res.revision})\n`,
      exitCode: res.succeeded ? 0 : 3,
    };
  },
  async cas(ops, a) {
    if ((a.expect === undefined) === !b(a, 'expect-absent')) {
      throw new CtlError('USAGE', 'cas needs exactly one of --expect VALUE and --expect-absent');
    }
    const res = await ops.compareAndSwap(
      String(a['key-name']),
      a.expect === undefined ? null : String(a.expect),
      String(a.value),
    );
    const text = res.succeeded
      ? `SWAPPED (revision ${res.revision})\n`
      : `COMPARE FAILED: current value ${res.current ? JSON.stringify(res.current.value) : '(absent)'}\n`;
    return { data: res, table: text, exitCode: res.succeeded ? 0 : 3 };
  },
  async compact(ops, a) {
    const res = await ops.compact(Number(a.revision), { physical: b(a, 'physical') });
    return { data: res, table: `compacted revision ${res.compactedTo}\n` };
  },
  async watch(ops, a, io) {
    const json = a.output === 'json';
    const signal = untilSignal(io, a.timeout);
    let ready = false;
    await ops.watch(range(a), {
      ...(a.rev !== undefined ? { startRevision: n(a, 'rev') } : {}),
      prevKv: b(a, 'prev-kv'),
      ...(a['max-events'] !== undefined ? { maxEvents: n(a, 'max-events') } : {}),
      ...(signal ? { signal } : {}),
      onReady: () => {
        ready = true;
        io.writeErr('watching\n');
      },
      onEvent: (e) =>
        io.write(
          json
            ? `${JSON.stringify(e)}\n`
            : `${e.type}\n${e.kv.key}\n${e.type === 'PUT' ? `${e.kv.value}\n` : ''}`,
        ),
    });
    if (!ready && !io.signal?.aborted) throw notConnected(`watch ${String(a['key-name'])}`, ops, a.timeout);
    // Events were printed as they came.
    return {};
  },
  async 'lease-grant'(ops, a) {
    const res = await ops.leaseGrant(Number(a.ttl));
    return { data: res, table: `lease ${res.id} granted with TTL(${res.ttl}s)\n` };
  },
  async 'lease-revoke'(ops, a) {
    const res = await ops.leaseRevoke(String(a.id));
    return { data: res, table: `lease ${res.id} revoked\n` };
  },
  async 'lease-timetolive'(ops, a) {
    const res = await ops.leaseTimeToLive(String(a.id), { keys: b(a, 'keys') });
    const keys = res.keys ? `, attached keys(${res.keys.join(', ')})` : '';
    return {
      data: res,
      table: `lease ${res.id} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)${keys}\n`,
    };
  },
  async 'lease-keep-alive'(ops, a, io) {
    const json = a.output === 'json';
    const signal = untilSignal(io, a.timeout);
    const last = await ops.leaseKeepAlive(String(a.id), {
      once: b(a, 'once'),
      ...(signal ? { signal } : {}),
      onRenew: (l) =>
        io.write(json ? `${JSON.stringify(l)}\n` : `lease ${l.id} keepalived with TTL(${l.ttl})\n`),
    });
    if (!last) {
      if (io.signal?.aborted) return {};
      throw notConnected(`lease keep-alive ${String(a.id)}`, ops, a.timeout);
    }
    return { exitCode: last.ttl > 0 ? 0 : 3 };
  },
  async 'member-list'(ops) {
    const members = await ops.memberList();
    return {
      data: { members },
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
    return {
      data: res,
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
  async 'move-leader'(ops, a) {
    const res = await ops.moveLeader(String(a.id));
    return { data: res, table: `Leadership transferred from ${res.from} to ${res.to}\n` };
  },
};
