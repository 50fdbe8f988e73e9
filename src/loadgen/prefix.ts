import type { Etcd3 } from 'etcd3';
import { ConfigError, MonitorError, describeError } from '../util/errors.js';

// A benchmark's keys: one prefix per run, empty before it, range-deleted after it. Compaction only on
// request, because it is cluster-wide (issue 11: every user key lost its history after a benchmark).

/** What the end of a run removed: exactly the keys under its prefix, and history only with `compact`. */
export interface BenchCleanup {
  prefix: string;
  deletedKeys: number;
  /** Revision of the range delete. */
  deleteRevision: number;
  /** Revision the whole cluster was compacted at (only with `compact`), else null. */
  compactedRevision: number | null;
}

/** Root of the default per-run prefixes (the probe uses /etcd-monitor/probe/). */
export const BENCH_PREFIX_ROOT = '/etcd-monitor/bench/';

/** The default prefix of run `runId`. */
export function defaultBenchPrefix(runId: string): string {
  return `${BENCH_PREFIX_ROOT}${runId}/`;
}

/** An interrupted run (its `signal` aborted): its keys were deleted (`cleanup`) unless that failed too. */
export class BenchInterruptedError extends MonitorError {
  constructor(
    readonly prefix: string,
    readonly cleanup: BenchCleanup | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('BENCH_INTERRUPTED', message, options);
  }
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Counts the keys under `prefix`; a run may only use a prefix holding none. */
export async function assertPrefixEmpty(admin: Etcd3, prefix: string): Promise<void> {
  const existing = Number(await admin.getAll().prefix(prefix).count());
  if (existing > 0) {
    throw new MonitorError(
      'BENCH_PREFIX_NOT_EMPTY',
      `prefix ${JSON.stringify(prefix)} already holds ${existing} keys; a run deletes everything under its prefix afterwards, so it must start empty (choose another --prefix or leave it out)`,
    );
  }
}

/** The prefix a run uses: the given one, or `/etcd-monitor/bench/<runId>/`. */
export function runPrefix(o: { readonly prefix?: string }, runId: string): string {
  return o.prefix ?? defaultBenchPrefix(runId);
}

/**
 * Range-deletes every key under `prefix` (only this run's keys: the prefix was empty before it), then
 * makes sure none came back from a write still in flight. With `compact`, compacts the whole cluster
 * at the delete revision (physical): every key's older revisions are gone afterwards.
 */
export async function cleanupPrefix(
  admin: Etcd3,
  prefix: Buffer,
  opts: { compact: boolean },
): Promise<BenchCleanup> {
  if (prefix.length === 0)
    throw new ConfigError('prefix', 'refusing to delete an empty prefix (the whole keyspace)');
  const text = prefix.toString('utf8');
  try {
    let deletedKeys = 0;
    let deleteRevision = 0;
    // A write whose client gave up (deadline) can still be applied after the delete; 3 passes, 200 ms apart.
    for (let pass = 0; pass < 3; pass++) {
      if (pass > 0) {
        const left = Number(await admin.getAll().prefix(prefix.toString('latin1')).count());
        if (left === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const res = await admin.kv.deleteRange({ key: prefix, range_end: prefixEnd(prefix) });
      deletedKeys += Number(res.deleted);
      deleteRevision = Number(res.header.revision);
    }
    let compactedRevision: number | null = null;
    if (opts.compact) {
      await admin.kv.compact({ revision: String(deleteRevision), physical: true }).catch((err: unknown) => {
        // Someone compacted past this revision already: the history is gone either way.
        if (!/required revision has been compacted/.test(describeError(err))) throw err;
      });
      compactedRevision = deleteRevision;
    }
    return { prefix: text, deletedKeys, deleteRevision, compactedRevision };
  } catch (err) {
    throw new MonitorError(
      'BENCH_CLEANUP_FAILED',
      `deleting ${opts.compact ? 'and compacting ' : ''}prefix ${text}: ${describeError(err)}`,
      { cause: err },
    );
  }
}
