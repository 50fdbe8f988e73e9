import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { MonitorError, describeError, errorCode } from '../util/errors.js';
import {
  benchMembers,
  discoverMembers,
  memberClient,
  type BenchMember,
  type DiscoverOptions,
} from '../etcd/discover.js';
import { loadTlsMaterial } from '../etcd/tls-material.js';
import { connectEtcd3, etcd3Options } from './etcd3-transport.js';
import {
  assertPrefixEmpty,
  BenchInterruptedError,
  cleanupPrefix,
  runPrefix,
  type BenchCleanup,
} from './prefix.js';
import { runLoad, type LoadOutcome, type LoadSpec } from './load.js';
import { runLoadInWorkers } from './parallel.js';
import { summarizeRun, type BenchmarkResult, type LeftOutMember } from './result.js';
import { validateBenchOptions, type BenchOptions } from './spec.js';
import { connectLean, type ConnectSpec, type PayloadSpec, type Transport } from './transport.js';

// One load-generator run from start to cleanup: what it is asked (spec.ts), how the load runs (load.ts,
// parallel.ts), how its keys are kept apart and deleted (prefix.ts), and what it reports (result.ts).

function connectSpec(o: BenchOptions): ConnectSpec {
  return {
    endpoints: o.endpoints,
    conns: o.conns,
    tls: o.tls,
    dialTimeoutMs: o.dialTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
  };
}

function payloadSpec(o: BenchOptions, prefix: Buffer): PayloadSpec {
  return { prefix, keySize: o.keySize, valSize: o.valSize, serializable: o.consistency === 's' };
}

function connect(o: BenchOptions, prefix: Buffer): Promise<Transport> {
  const spec = connectSpec(o);
  const payload = payloadSpec(o, prefix);
  return o.client === 'etcd3' ? connectEtcd3(spec, payload) : connectLean(spec, payload);
}

/** Opens an admin connection to `o.endpoints` and refuses a prefix that holds keys (API pre-check). */
export async function checkPrefixEmpty(o: BenchOptions): Promise<void> {
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  try {
    await assertPrefixEmpty(admin, runPrefix(o, ''));
  } finally {
    admin.close();
  }
}

/**
 * Runs one benchmark: checks the prefix is empty, populates the key space for reads, runs the load on
 * the chosen client path, then deletes exactly the keys under the prefix — also when the run failed
 * or was interrupted. Compacts only with `compact`.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchmarkResult> {
  validateBenchOptions(options);
  const targets = await benchTargets(options);
  const o = { ...options, endpoints: targets.endpoints };
  const runId = o.runId ?? randomUUID();
  const prefixText = runPrefix(o, runId);
  const prefix = Buffer.from(prefixText, 'utf8');
  // etcd3 for everything that is not the hot loop: version, prefix checks, cleanup.
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  try {
    const etcdVersion = await admin.maintenance
      .status()
      .then((s) => s.version)
      .catch(() => null);
    await assertPrefixEmpty(admin, prefixText);
    // From here on the prefix is this run's: whatever happens next, it is deleted at the end.
    let outcome: LoadOutcome | undefined;
    let failure: unknown;
    try {
      outcome = await measure(o, prefix);
    } catch (err) {
      failure = err;
    }
    let cleanup: BenchCleanup;
    try {
      // An interrupted or failed run is only cleaned up: compaction is for a finished run asked for it.
      const compact = Boolean(o.compact) && failure === undefined && !o.signal?.aborted;
      cleanup = await cleanupPrefix(admin, prefix, { compact });
    } catch (err) {
      if (failure === undefined && !o.signal?.aborted) throw err;
      throw new MonitorError(
        'BENCH_CLEANUP_FAILED',
        `${o.signal?.aborted ? 'interrupted' : describeError(failure)}; and its keys could not be deleted (${describeError(err)}): delete them with etcdctl del --prefix ${JSON.stringify(prefixText)}`,
        { cause: failure ?? err },
      );
    }
    if (failure !== undefined) throw failure;
    if (o.signal?.aborted)
      throw new BenchInterruptedError(
        prefixText,
        cleanup,
        `benchmark interrupted; deleted its ${cleanup.deletedKeys} keys under ${JSON.stringify(prefixText)}`,
      );
    return summarizeRun(o, runId, prefixText, outcome!, etcdVersion, cleanup, targets.leftOut);
  } finally {
    admin.close();
  }
}

/**
 * Where the load goes: every voting member's first advertised client URL from the member list (or the
 * endpoints given, with discovery off), each asked for its Status first. Members that do not answer are
 * left out and reported with their error code, so one stopped member does not stop the benchmark — as
 * long as a quorum of the voting members answers: below it every write fails (no leader can commit), so
 * the run is refused with BENCH_NO_QUORUM instead of measuring only errors. With discovery off the
 * cluster's size is unknown; then at least one endpoint must answer.
 */
export async function benchTargets(
  o: BenchOptions,
): Promise<{ endpoints: string[]; leftOut: LeftOutMember[] }> {
  const tls = loadTlsMaterial(o.tls);
  const discover: DiscoverOptions = {
    ...(tls ? { tls } : {}),
    ...(o.auth ? { auth: o.auth } : {}),
    dialTimeoutMs: o.dialTimeoutMs,
    requestTimeoutMs: Math.min(o.requestTimeoutMs, 10_000),
  };
  let candidates: BenchMember[];
  let from = 'the endpoints given';
  if (o.discoverMembers) {
    const found = await discoverMembers(o.endpoints, discover);
    from = `the member list from ${found.answeredBy}`;
    candidates = benchMembers(found);
    if (candidates.length === 0)
      throw new MonitorError('BENCH_NO_MEMBERS', `${from} names no voting member with a client URL`);
  } else candidates = o.endpoints.map((endpoint) => ({ name: '', id: '', endpoint }));
  const answers = await Promise.allSettled(
    candidates.map(async (c) => {
      const client = memberClient(c.endpoint, discover);
      try {
        await client.status();
      } finally {
        client.close();
      }
    }),
  );
  const endpoints: string[] = [];
  const leftOut: LeftOutMember[] = [];
  answers.forEach((a, i) => {
    const c = candidates[i]!;
    if (a.status === 'fulfilled') endpoints.push(c.endpoint);
    else leftOut.push({ ...c, code: errorCode(a.reason), error: describeError(a.reason) });
  });
  const needed = o.discoverMembers ? Math.floor(candidates.length / 2) + 1 : 1;
  if (endpoints.length < needed) {
    const down = leftOut.map((m) => `${m.name || m.endpoint}: ${m.code}`).join(', ');
    throw new MonitorError(
      'BENCH_NO_QUORUM',
      o.discoverMembers
        ? `only ${endpoints.length} of ${candidates.length} voting members answer (${down}); a benchmark needs a quorum of ${needed}, without it every write fails`
        : `none of ${from} answers (${down})`,
    );
  }
  return { endpoints, leftOut };
}

/** One process's part of a run spread over several (distributed.ts); absent for a run of one process. */
export interface RunPart {
  /** Key numbers this process populates and writes in sequence: keyOffset + j * keyStride. */
  keyOffset: number;
  keyStride: number;
  /** How many of the key space's keys it populates (its interleaved share). */
  fillKeys: number;
  /** Awaited after populating and before the measured load starts: the start barrier. */
  ready(): Promise<void>;
}

/** Populates the key space (read and mixed runs) and runs the measured load. */
export async function measure(o: BenchOptions, prefix: Buffer, part?: RunPart): Promise<LoadOutcome> {
  const transport = await connect(o, prefix);
  const workers = Math.max(1, Math.min(o.workers ?? 1, o.conns));
  const load: LoadSpec = {
    workload: o.workload,
    ops: o.ops,
    durationMs: o.durationMs,
    clients: o.clients,
    keySpace: o.keySpace,
    sequentialKeys: o.sequentialKeys,
    rate: o.rate,
    readRatio: o.readRatio,
    signal: o.signal,
    onProgress: o.onProgress ? (done, ms) => o.onProgress?.(done, o.ops, ms) : undefined,
    onLatencyBatch: o.onLatencyBatch,
    ...(part ? { keyOffset: part.keyOffset, keyStride: part.keyStride } : {}),
  };
  try {
    const fillKeys = part ? part.fillKeys : o.keySpace;
    if (o.workload !== 'write' && fillKeys > 0) {
      // The keys the reads hit, under the run's own prefix (each process of a distributed run its share).
      const fill = await runLoad(transport, {
        workload: 'write',
        ops: fillKeys,
        clients: o.clients,
        keySpace: o.keySpace,
        sequentialKeys: true,
        keyOffset: part?.keyOffset ?? 0,
        keyStride: part?.keyStride ?? 1,
        readRatio: 0,
        signal: o.signal,
      });
      if (fill.write.errors.size > 0) {
        throw new MonitorError(
          'BENCH_POPULATE_FAILED',
          `populating ${o.keySpace} keys failed: ${fill.write.lastError ?? 'errors'}`,
        );
      }
    }
    if (workers > 1) {
      // The measured phase gets fresh connections owned by the worker threads.
      await transport.close();
      return await runLoadInWorkers({
        workers,
        connect: connectSpec(o),
        payload: payloadSpec(o, prefix),
        client: o.client,
        load,
        ...(part ? { beforeGo: () => part.ready() } : {}),
      });
    }
    await part?.ready();
    return await runLoad(transport, load);
  } finally {
    await transport.close();
  }
}
