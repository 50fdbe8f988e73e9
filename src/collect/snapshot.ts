import type { ParsedMetrics } from '../etcd/prom-text.js';
import type {
  AlarmEntry,
  MemberHashKv,
  MemberHealth,
  MemberListEntry,
  MemberStatus,
  ProbeResult,
} from '../etcd/types.js';

/** Names of the per-member collectors; each reports its own success and duration. */
export const COLLECTORS = ['metrics', 'status', 'members', 'alarms', 'health', 'probe', 'hashkv'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/** Outcome of one collector against one member. `value` is present only when `ok`. */
export type CollectorResult<T> =
  | { readonly ok: true; readonly value: T; readonly at: number; readonly durationSeconds: number }
  | { readonly ok: false; readonly error: string; readonly at: number; readonly durationSeconds: number };

/** Everything collected from one configured endpoint; a collector that has not run yet is absent. */
export interface MemberSnapshot {
  /** Configured client URL the exporter talks to. */
  readonly endpoint: string;
  readonly metrics?: CollectorResult<ParsedMetrics>;
  readonly status?: CollectorResult<MemberStatus>;
  readonly members?: CollectorResult<readonly MemberListEntry[]>;
  readonly alarms?: CollectorResult<readonly AlarmEntry[]>;
  readonly health?: CollectorResult<MemberHealth>;
  readonly probe?: CollectorResult<ProbeResult>;
  readonly hashkv?: CollectorResult<MemberHashKv>;
}

/** One point-in-time view of a cluster: plain data, the only input of the derive layer. */
export interface ClusterSnapshot {
  readonly cluster: string;
  /** Unix ms when the newest collector result in this snapshot finished. */
  readonly takenAt: number;
  readonly expectedMembers?: number;
  readonly members: readonly MemberSnapshot[];
}
