import { ClusterCollector } from '../src/collect/cluster-collector.js';
import type { MonitorConfig } from '../src/config/types.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../src/derive/cluster-view.js';
import { MemberHttpClient } from '../src/etcd/http-client.js';
import { ALL_METRICS } from '../src/expose/metric-table.js';
import { renderReexposed, type ReexposeSource } from '../src/expose/reexpose.js';
import { median } from './exporter-stats.js';

/** Medians (ms) of the interleaved raw-fetch vs collection-round comparison. */
export interface RoundResult {
  readonly repetitions: number;
  readonly rawFetchMs: { readonly median: number; readonly samples: number[] };
  readonly roundMs: { readonly median: number; readonly samples: number[] };
  /** Median split of the round: concurrent collection, derive of every cluster, re-expose render. */
  readonly roundPartsMs: { readonly collect: number; readonly derive: number; readonly render: number };
  readonly ratio: number;
  /**
   * CPU time this process spent per raw fetch and per round (medians). Unlike wall time it hardly
   * depends on what else the machine is running; the etcd members' own CPU is not included.
   */
  readonly cpuMs: { readonly rawFetch: number; readonly round: number };
  readonly rawBytesPerRound: number;
  readonly reexposedBytes: number;
  readonly reexposedLines: number;
}

const OWN_NAMES = new Set(ALL_METRICS.map((d) => d.name));

/**
 * (a) every member's raw /metrics fetched concurrently with the exporter's own HTTP client (one undici
 * Agent per cluster, same timeouts and pool size) vs (b) one complete metrics round of every cluster:
 * ClusterCollector.collectMetricsRound() concurrently (/metrics + status + member list + alarms of
 * each member), then derive and the re-expose render, as Monitor does after a metrics round.
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
    const round = async () => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(collectors.map((c) => c.collectMetricsRound()));
      const t1 = performance.now();
      const sources: ReexposeSource[] = [];
      for (const collector of collectors) {
        const snapshot = collector.snapshot();
        const name = collector.cluster.name;
        const { view, state } = deriveCluster(states.get(name) as DeriveState, snapshot, config.thresholds);
        states.set(name, state);
        for (const m of snapshot.members) {
          // A failed source would make the round look cheap; the numbers only mean something if all answered.
          for (const source of ['metrics', 'status', 'members', 'alarms'] as const) {
            const result = m[source];
            if (!result?.ok)
              throw new Error(`${name} ${m.endpoint} ${source} failed: ${JSON.stringify(result)}`);
          }
          const member = view.members.find((mv) => mv.endpoint === m.endpoint)?.member ?? m.endpoint;
          if (m.metrics?.ok) sources.push({ cluster: name, member, metrics: m.metrics.value });
        }
      }
      const t2 = performance.now();
      const text = renderReexposed(sources, config.reexpose.allow, OWN_NAMES);
      const t3 = performance.now();
      return { total: t3 - t0, collect: t1 - t0, derive: t2 - t1, render: t3 - t2, text, cpu: cpuMs(cpu0) };
    };

    for (let i = 0; i < warmup; i++) {
      await rawFetch();
      await round();
    }
    const rawSamples: number[] = [];
    const roundSamples: number[] = [];
    const parts = { collect: [] as number[], derive: [] as number[], render: [] as number[] };
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
