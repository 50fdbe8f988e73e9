import type { CallCounts } from './cluster-state.js';
import { SIMULATED_METHODS } from './grpc.js';

/**
 * What each sample of a captured /metrics becomes in a simulated member's: its captured text (a gauge,
 * or a counter that means trouble), or a slot whose value a scrape computes. Every slot is a pure
 * function of the member's state (time since its metrics epoch, its cluster's raft index, the calls it
 * served), so two scrapes are monotonic and each histogram stays consistent: observations land in one
 * bucket (the first whose bound holds the capture's mean), every cumulative bucket at or above it,
 * +Inf and _count grow by the same number, and _sum by that number times the mean.
 */

/**
 * The capture is treated as this many seconds of traffic, and a counter's rate is its value over this:
 * the captured members were about that old (their peer round-trip histograms counted 2, and etcd's
 * prober observes every 4 s, rafthttp proberInterval = ConnReadTimeout − 1 s; 9 kB of peer bytes is
 * that long of 100 ms heartbeats). Whole counts stay whole (floor of rate × t).
 */
const CAPTURE_AGE_SECONDS = 10;
/** Counters that mean trouble stay at their captured value: a simulated member is a healthy one. */
const TROUBLE = /fail|error|slow|leader_changes|drop|corrupt|reject|lost|timeout|heartbeat_send/;
/**
 * Histograms that grow with raft entries rather than time: every entry is a WAL fsync and lands in a
 * backend commit on each member, so they move with the exporter's own probe writes, as on a real
 * cluster watched by it (a 1 s interval leaves a real idle member's p99 present every round).
 */
const PER_RAFT_ENTRY = new Set([
  'etcd_disk_wal_fsync_duration_seconds',
  'etcd_disk_backend_commit_duration_seconds',
]);
/** Gauges that are the cluster's raft index or revision, so /metrics agrees with Status. */
const CLUSTER_GAUGES: Record<string, 'raftIndex' | 'revision'> = {
  etcd_server_proposals_committed_total: 'raftIndex',
  etcd_server_proposals_applied_total: 'raftIndex',
  etcd_debugging_mvcc_current_revision: 'revision',
};

/**
 * etcd 3.5's apply-duration histogram has a series per operation applied (created on first use). The
 * ops the simulator's own traffic applies: the probe's Put and LeaseGrant, the alarm list's Alarm.
 */
const APPLY_FAMILY = 'etcd_server_apply_duration_seconds';
export const APPLIED_OPS = ['Put', 'LeaseGrant', 'Alarm'] as const;
const applyKey = (op: string): string => `${APPLY_FAMILY}{op="${op}",success="true",version="v3"}`;

/**
 * Adds the apply-duration series of APPLIED_OPS the capture lacks (3.5's has no Alarm), at 0, shaped
 * like its Put series, as etcd creates one the first time it applies such an op. The captured lines
 * stay as they are.
 */
export function addAppliedOpSeries(lines: readonly string[]): string[] {
  const put = lines.filter(
    (l) =>
      seriesKey(SAMPLE.exec(l)?.[1]?.replace(/_(bucket|sum|count)$/, '') ?? '', SAMPLE.exec(l)?.[2] ?? '') ===
      applyKey('Put'),
  );
  if (put.length === 0) return [...lines];
  const out = [...lines];
  const at = out.lastIndexOf(put.at(-1)!) + 1;
  for (const op of APPLIED_OPS) {
    if (out.some((l) => l.startsWith(`${APPLY_FAMILY}_count{op="${op}",success="true",version="v3"}`)))
      continue;
    out.splice(at, 0, ...put.map((l) => l.replace('op="Put"', `op="${op}"`).replace(/ \S+$/, ' 0')));
  }
  return out;
}

/** What a scrape computes slots from. */
export interface ScrapeState {
  /** Seconds since the member's metrics epoch. */
  readonly t: number;
  /** Raft entries its cluster committed since it started. */
  readonly entries: number;
  readonly raftIndex: number;
  readonly revision: number;
  readonly calls: ReadonlyMap<string, CallCounts>;
  /** Entries of each of APPLIED_OPS its cluster applied (every member applies every entry). */
  readonly applied: ReadonlyMap<string, number>;
}

/** A sample's value in one scrape (a closure per slot: the template is built once, rendered many times). */
export type ValueSlot = (s: ScrapeState) => number;

/** gRPC status codes as go-grpc-prometheus labels them (grpc_code), in code order (0 = OK). */
const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented',
  'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
]; // prettier-ignore
const GRPC_FIELDS: Record<string, 'started' | 'received' | 'sent' | 'code'> = {
  grpc_server_started_total: 'started',
  grpc_server_msg_received_total: 'received',
  grpc_server_msg_sent_total: 'sent',
  grpc_server_handled_total: 'code',
};
const SERVED = new Set(SIMULATED_METHODS);

const label = (labels: string, name: string): string =>
  new RegExp(`[{,]${name}="([^"]*)"`).exec(labels)?.[1] ?? '';

/** A bucket's bound; Number() does not read Go's "+Inf". */
function leOf(labels: string): number {
  const le = label(labels, 'le');
  return le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
}

/** A histogram series' identity: its family and labels without `le` (`{le="1"}` and no labels are one). */
const seriesKey = (family: string, labels: string): string =>
  family +
  labels
    .replace(/,?le="[^"]*"/, '')
    .replace('{,', '{')
    .replace('{}', '');

interface Histogram {
  /** Observations per second, or per raft entry (PER_RAFT_ENTRY). */
  readonly rate: number;
  readonly mean: number;
  /** Bound of the bucket new observations land in. */
  readonly bucket: number;
  readonly perEntry: boolean;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/;

export class SlotMaker {
  private readonly hists = new Map<string, Histogram>();

  constructor(
    lines: readonly string[],
    private readonly types: ReadonlyMap<string, string>,
  ) {
    const count = new Map<string, number>();
    const sum = new Map<string, number>();
    const bounds = new Map<string, number[]>();
    for (const line of lines) {
      const m = SAMPLE.exec(line);
      const h = m && /^(.*)(_bucket|_sum|_count)$/.exec(m[1]!);
      if (!m || !h || types.get(h[1]!) !== 'histogram') continue;
      const key = seriesKey(h[1]!, m[2] ?? '');
      if (h[2] === '_count') count.set(key, Number(m[3]));
      else if (h[2] === '_sum') sum.set(key, Number(m[3]));
      else bounds.set(key, [...(bounds.get(key) ?? []), leOf(m[2] ?? '')]);
    }
    for (const [key, n] of count) {
      if (!(n > 0)) continue;
      const mean = (sum.get(key) ?? 0) / n;
      const bucket = (bounds.get(key) ?? []).find((le) => le >= mean) ?? Number.POSITIVE_INFINITY;
      const perEntry = PER_RAFT_ENTRY.has(key.replace(/\{.*$/, ''));
      this.hists.set(key, { rate: perEntry ? 1 : n / CAPTURE_AGE_SECONDS, mean, bucket, perEntry });
    }
  }

  /** The slot of one sample, or undefined when its captured value stays. */
  slot(name: string, labels: string, value: string): ValueSlot | undefined {
    const base = Number(value);
    const gauge = CLUSTER_GAUGES[name];
    if (gauge) return (s) => s[gauge];
    const call = this.callSlot(name, labels, base);
    if (call) return call;
    const hm = /^(.*)(_bucket|_sum|_count)$/.exec(name);
    if (hm && this.types.get(hm[1]!) === 'histogram') return this.histogramSlot(hm[1]!, hm[2]!, labels, base);
    if (this.types.get(name) !== 'counter' || !(base > 0) || TROUBLE.test(name)) return undefined;
    if (/grpc_code="/.test(labels) && !labels.includes('grpc_code="OK"')) return undefined;
    const rate = base / CAPTURE_AGE_SECONDS;
    return Number.isInteger(base) ? (s) => base + Math.floor(rate * s.t) : (s) => base + rate * s.t;
  }

  private histogramSlot(family: string, suffix: string, labels: string, base: number): ValueSlot | undefined {
    const key = seriesKey(family, labels);
    const op = family === APPLY_FAMILY ? APPLIED_OPS.find((o) => key === applyKey(o)) : undefined;
    // An op's series added at 0 takes its bucket and mean from the captured Put's.
    const h = this.hists.get(key) ?? (op ? this.hists.get(applyKey('Put')) : undefined);
    if (!h || TROUBLE.test(family)) return undefined;
    const observed = op
      ? (s: ScrapeState) => s.applied.get(op) ?? 0
      : h.perEntry
        ? (s: ScrapeState) => Math.floor(h.rate * s.entries)
        : (s: ScrapeState) => Math.floor(h.rate * s.t);
    if (suffix === '_sum') return (s) => base + h.mean * observed(s);
    const le = suffix === '_bucket' ? leOf(labels) : Number.POSITIVE_INFINITY;
    return le >= h.bucket ? (s) => base + observed(s) : undefined;
  }

  /**
   * The grpc_server_* series of a method the simulator answers count the calls it served on top of the
   * captured values, as etcd's go-grpc-prometheus does (the exporter relays only methods started > 0).
   */
  private callSlot(name: string, labels: string, base: number): ValueSlot | undefined {
    const field = GRPC_FIELDS[name];
    if (!field) return undefined;
    const path = `/${label(labels, 'grpc_service')}/${label(labels, 'grpc_method')}`;
    if (!SERVED.has(path)) return undefined;
    if (field !== 'code') return (s) => base + (s.calls.get(path)?.[field] ?? 0);
    const code = GRPC_CODE_NAMES.indexOf(label(labels, 'grpc_code'));
    return code < 0 ? undefined : (s) => base + (s.calls.get(path)?.handled[code] ?? 0);
  }
}
