// The decisions of a benchmark spread over N processes (distributed.ts), on plain data so they are tested
// without etcd: which share of the calls, rate and key space process i takes, where its coordination keys
// live under the run's prefix, and whether the start barrier and the result collection are complete.
import { ConfigError } from '../util/errors.js';
import type { BenchOptions } from './spec.js';

/** Coordination keys live under `<prefix>_coord/`. A workload key is `<prefix>` + a varint key number,
 * whose first byte is even for every number >= 0 (zigzag), so it never starts with '_' (0x5f, odd). */
export function coordKeys(prefix: string) {
  const root = `${prefix}_coord/`;
  return {
    root,
    /** The coordinator's claim on the prefix (on its lease): the run is open while it exists. */
    open: `${root}open`,
    /** Process i's presence (on its lease): joined, then ready once its share of the key space is written. */
    proc: (i: number) => `${root}proc/${i}`,
    procs: `${root}proc/`,
    /** Written by the coordinator once every process is ready: the common start. */
    start: `${root}start`,
    /** Written by any process that fails or is interrupted: every other process stops its load. */
    stop: `${root}stop`,
    result: (i: number) => `${root}result/${i}`,
    results: `${root}result/`,
  };
}

/** The options every process must agree on (the coordinator publishes them; the others compare). */
export const PLAN_FIELDS = [
  'workload',
  'ops',
  'durationMs',
  'rate',
  'keySize',
  'valSize',
  'keySpace',
  'readRatio',
  'consistency',
  'sequentialKeys',
] as const satisfies readonly (keyof BenchOptions)[];

export type RunPlan = Partial<Pick<BenchOptions, (typeof PLAN_FIELDS)[number]>> & { processes: number };

export function runPlan(o: BenchOptions, processes: number): RunPlan {
  const plan: RunPlan = { processes };
  for (const f of PLAN_FIELDS) if (o[f] !== undefined) (plan as Record<string, unknown>)[f] = o[f];
  return plan;
}

/** Fields where `mine` differs from the coordinator's plan, e.g. ["ops: 3000 here, 6000 at process 0"]. */
export function planDifferences(mine: RunPlan, coordinator: RunPlan): string[] {
  const out: string[] = [];
  for (const f of ['processes', ...PLAN_FIELDS] as const) {
    const a = (mine as Record<string, unknown>)[f];
    const b = (coordinator as Record<string, unknown>)[f];
    if (a !== b) out.push(`${f}: ${JSON.stringify(a)} here, ${JSON.stringify(b)} at process 0`);
  }
  return out;
}

/**
 * `--ops` and `--rate` are the run's totals, split as `--workers` splits them among threads: process i
 * takes ⌊ops/N⌋ calls plus one when i < ops mod N, and rate/N calls/s. `--clients`/`--conns`/`--workers`
 * are each process's own. Sequential keys and the read key space interleave: process i owns key numbers
 * i, i+N, i+2N, ... (`keyOffset`/`keyStride`).
 */
export function processShare(
  o: Pick<BenchOptions, 'ops' | 'rate' | 'keySpace'>,
  processes: number,
  index: number,
): { ops?: number; rate?: number; keyOffset: number; keyStride: number; fillKeys: number } {
  const share: ReturnType<typeof processShare> = {
    keyOffset: index,
    keyStride: processes,
    // Key numbers i, i+N, ... below keySpace.
    fillKeys: index < o.keySpace ? Math.floor((o.keySpace - 1 - index) / processes) + 1 : 0,
  };
  if (o.ops !== undefined) share.ops = Math.floor(o.ops / processes) + (index < o.ops % processes ? 1 : 0);
  if (o.rate !== undefined) share.rate = o.rate / processes;
  return share;
}

/** Checks --processes / --process-index / --run-id (exit 2 naming the flag). */
export function validateDistributed(d: { processes: number; index: number; runId?: string; ops?: number }) {
  if (!Number.isInteger(d.processes) || d.processes < 1)
    throw new ConfigError('processes', `must be a positive integer, got ${d.processes}`);
  if (!Number.isInteger(d.index) || d.index < 0 || d.index >= d.processes)
    throw new ConfigError(
      'process-index',
      `must be an integer from 0 to ${d.processes - 1} (--processes ${d.processes}), got ${d.index}`,
    );
  if (d.processes > 1 && d.runId === undefined)
    throw new ConfigError('run-id', 'every process of one run needs the same --run-id (it names the prefix)');
  if (d.runId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(d.runId))
    throw new ConfigError(
      'run-id',
      `letters, digits, '.', '_' and '-' only (it is a key segment), got ${JSON.stringify(d.runId)}`,
    );
  if (d.ops !== undefined && d.ops < d.processes)
    throw new ConfigError('ops', `${d.ops} calls cannot be split over ${d.processes} processes`);
}

/** What a process's presence key says. */
export interface Presence {
  token: string;
  state: 'joined' | 'ready';
  host?: string;
  pid?: number;
}

/** Indices 0..n-1 not in `present`. */
function missing(n: number, present: ReadonlySet<number>): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => !present.has(i));
}

/** Parses `<root>proc/<i>` or `<root>result/<i>` into i (undefined for anything else). */
export function indexOfKey(key: string, under: string): number | undefined {
  if (!key.startsWith(under)) return undefined;
  const rest = key.slice(under.length);
  return /^(0|[1-9]\d{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/**
 * The start barrier seen by the coordinator: complete once all N processes of this run (`token`) are
 * ready. Past the deadline it names those that never joined and those that joined but did not get ready
 * (still populating their share of the key space).
 */
export function barrierDecision(
  n: number,
  token: string,
  presences: ReadonlyMap<number, Presence>,
  deadlinePassed: boolean,
):
  | { kind: 'start' }
  | { kind: 'wait'; notReady: number[] }
  | { kind: 'fail'; neverJoined: number[]; notReady: number[] } {
  const ready = new Set<number>();
  const joined = new Set<number>();
  for (const [i, p] of presences) {
    if (i >= n || p.token !== token) continue;
    joined.add(i);
    if (p.state === 'ready') ready.add(i);
  }
  if (ready.size === n) return { kind: 'start' };
  const notReady = missing(n, ready);
  if (!deadlinePassed) return { kind: 'wait', notReady };
  return {
    kind: 'fail',
    neverJoined: missing(n, joined),
    notReady: notReady.filter((i) => joined.has(i)),
  };
}

/**
 * Result collection by the coordinator: done once every process of the run wrote its result. A process
 * without a result is given up on when the deadline passed or its presence key is gone (its lease
 * expired: the process died); the run then fails naming it.
 */
export function collectDecision(
  n: number,
  resultIndices: ReadonlySet<number>,
  presentIndices: ReadonlySet<number>,
  deadlinePassed: boolean,
): { kind: 'done' } | { kind: 'wait'; pending: number[] } | { kind: 'fail'; missing: number[] } {
  const pending = missing(n, resultIndices);
  if (pending.length === 0) return { kind: 'done' };
  const lost = pending.filter((i) => !presentIndices.has(i));
  if (deadlinePassed || lost.length === pending.length) return { kind: 'fail', missing: pending };
  return { kind: 'wait', pending };
}

/** "process 1" / "processes 1 and 3" / "processes 1, 2 and 3". */
export function nameIndices(indices: readonly number[]): string {
  if (indices.length === 1) return `process ${indices[0]}`;
  return `processes ${indices.slice(0, -1).join(', ')} and ${indices[indices.length - 1]}`;
}
