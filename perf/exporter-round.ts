import { ClusterCollector } from '../src/collect/cluster-collector.js';
import type { MonitorConfig } from '../src/config/types.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../src/derive/derive-cluster.js';
import { MemberHttpClient } from '../src/etcd/http-client.js';
import { ALL_METRICS } from '../src/expose/metric-table.js';
import { ExpositionCache } from '../src/expose/exposition-cache.js';
import { assembleReexposed, renderFamilyChunks, type ReexposeSource } from '../src/expose/reexpose.js';
import { parseEndpoint } from '../src/util/endpoint.js';
import { median } from './exporter-stats.js';

/** Medians (ms) of the interleaved raw-fetch vs collection-round comparison. */
export interface RoundResult {
  readonly repetitions: number;
  readonly rawFetchMs: { readonly median: number; readonly samples: number[] };
  readonly roundMs: { readonly median: number; readonly samples: number[] };
  /**
   * Median split of the round: the slowest cluster's collection, derive and re-expose render summed
   * over clusters (they overlap other clusters' I/O), and the final merge into the served block.
   */
  readonly roundPartsMs: {
    readonly collect: number;
    readonly derive: number;
    readonly render: number;
    readonly merge: number;
  };
  readonly ratio: number;
  /**
   * CPU time this process spent per raw fetch and per round (medians). Unlike wall time it hardly
   * depends on what else the machine is running; the etcd members' own CPU is not included.
   */
  readonly cpuMs: { readonly rawFetch: number; readonly round: number };
  readonly rawBytesPerRound: number;
  readonly reexposedBytes: number;
  readonly reexposedLines: number;
  /** Node flags of the process that measured (the exporter's, see exporter-bench.ts). */
  readonly nodeFlags?: readonly string[];
}

const OWN_NAMES = new Set(ALL_METRICS.map((d) => d.name));

/**
 * (a) every member's raw /metrics fetched concurrently with the exporter's own HTTP client (one undici
 * Agent per cluster, same timeouts and pool size) vs (b) one complete metrics round of every cluster,
 * as Monitor runs it: per cluster ClusterCollector.collectMetricsRound() (/metrics + status of each
 * member, alarms included, and the member list of one), derive and the re-expose render, all clusters
 * concurrently; then the merge into the block /metrics serves (its gzip form is made by the first scrape
 * that asks for it, so it is not part of a round; the load runs include it).
 * The two alternate which goes first so drift in machine load hits both equally.
 */
export async function measureRounds(
  config: MonitorConfig,
  repetitions: number,
  warmup: number,
  log: (msg: string) => void,
): Promise<RoundResult> {
  const timeouts = { dialTimeoutMs: config.dialTimeoutMs, requestTimeoutMs: config.requestTimeoutMs };
  const raw = config.clusters.map((c) => ({ cluster: c, http: new MemberHttpClient(undefined, timeouts) }));
  const collectors = config.clusters.map((c) => new ClusterCollector(c, config));
  const states = new Map<string, DeriveState>(config.clusters.map((c) => [c.name, INITIAL_DERIVE_STATE]));
  try {
    const rawFetch = async (): Promise<{ ms: number; bytes: number; cpu: number }> => {
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const texts = await Promise.all(
        raw.flatMap(({ cluster, http }) => cluster.endpoints.map((e) => http.fetchMetricsText(e))),
      );
      const ms = performance.now() - start;
      return { ms, bytes: texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0), cpu: cpuMs(cpu0) };
    };
    // As Monitor runs them: each cluster's round is collect → derive → render on its own, concurrently
    // with the other clusters' rounds; the round is complete when every cluster's part is rendered
    // and merged into the block /metrics serves.
    const cache = new ExpositionCache();
    const round = async () => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const parts = { collect: 0, derive: 0, render: 0 };
      const chunks = await Promise.all(
        collectors.map(async (collector) => {
          const c0 = performance.now();
          await collector.collectMetricsRound();
          const c1 = performance.now();
          const snapshot = collector.snapshot();
          const name = collector.cluster.name;
          const { view, state } = deriveCluster(
            states.get(name) as DeriveState,
            snapshot,
            collector.cluster.thresholds,
          );
          states.set(name, state);
          const sources: ReexposeSource[] = [];
          // A failed source would make the round look cheap; the numbers only mean something if all answered
          // and the round knows every member's alarms (from the statuses).
          if (!view.members.every((mv) => mv.alarmsKnown)) throw new Error(`${name}: alarms unknown`);
          // The member list is asked of one member per round.
          const listAt = c0 + performance.timeOrigin - 1;
          if (!snapshot.members.some((m) => m.members?.ok && m.members.at >= listAt))
            throw new Error(`${name}: no member answered the member list this round`);
          for (const m of snapshot.members) {
            for (const source of ['metrics', 'status'] as const) {
              const result = m[source];
              if (!result?.ok)
                throw new Error(`${name} ${m.endpoint} ${source} failed: ${JSON.stringify(result)}`);
            }
            const member = view.members.find((mv) => mv.endpoint === m.endpoint)?.member ?? m.endpoint;
            if (m.metrics?.ok) {
              const instance = parseEndpoint(m.endpoint).authority;
              sources.push({ cluster: name, member, instance, metrics: m.metrics.value });
            }
          }
          const c2 = performance.now();
          const rendered = renderFamilyChunks(sources, config.reexpose.allow, OWN_NAMES);
          const c3 = performance.now();
          parts.collect = Math.max(parts.collect, c1 - c0);
          parts.derive += c2 - c1;
          parts.render += c3 - c2;
          return rendered;
        }),
      );
      const m0 = performance.now();
      const text = assembleReexposed(chunks);
      cache.update(text);
      const m1 = performance.now();
      return {
        total: m1 - t0,
        collect: parts.collect,
        derive: parts.derive,
        render: parts.render,
        merge: m1 - m0,
        text,
        cpu: cpuMs(cpu0),
      };
    };

    for (let i = 0; i < warmup; i++) {
      await rawFetch();
      await round();
    }
    const rawSamples: number[] = [];
    const roundSamples: number[] = [];
    const parts = {
      collect: [] as number[],
      derive: [] as number[],
      render: [] as number[],
      merge: [] as number[],
    };
    const cpu = { rawFetch: [] as number[], round: [] as number[] };
    let rawBytes = 0;
    let text = '';
    for (let i = 0; i < repetitions; i++) {
      const doRaw = async () => {
        const r = await rawFetch();
        rawSamples.push(r.ms);
        cpu.rawFetch.push(r.cpu);
        rawBytes = r.bytes;
      };
      const doRound = async () => {
        const r = await round();
        roundSamples.push(r.total);
        cpu.round.push(r.cpu);
        parts.collect.push(r.collect);
        parts.derive.push(r.derive);
        parts.render.push(r.render);
        parts.merge.push(r.merge);
        text = r.text;
      };
      if (i % 2 === 0) {
        await doRaw();
        await doRound();
      } else {
        await doRound();
        await doRaw();
      }
      log(
        `  rep ${i + 1}/${repetitions}: raw ${rawSamples.at(-1)?.toFixed(1)} ms, round ${roundSamples.at(-1)?.toFixed(1)} ms`,
      );
    }
    const rawMedian = median(rawSamples);
    const roundMedian = median(roundSamples);
    return {
      repetitions,
      rawFetchMs: { median: rawMedian, samples: rawSamples },
      roundMs: { median: roundMedian, samples: roundSamples },
      roundPartsMs: {
        collect: median(parts.collect),
        derive: median(parts.derive),
        render: median(parts.render),
        merge: median(parts.merge),
      },
      ratio: roundMedian / rawMedian,
      cpuMs: { rawFetch: median(cpu.rawFetch), round: median(cpu.round) },
      rawBytesPerRound: rawBytes,
      reexposedBytes: Buffer.byteLength(text),
      reexposedLines: text.split('\n').length - 1,
    };
  } finally {
    await Promise.all([...raw.map((r) => r.http.close()), ...collectors.map((c) => c.close())]);
  }
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
