import type { ProfileSummary } from './scale-profile.js';

/** A measurement window's conditions as stored in the JSON. */
export interface WindowSummary {
  readonly seconds: number;
  /** Share of both cores busy (every process on the machine). */
  readonly machineBusy: number;
  readonly loadAverage: readonly number[];
  readonly processes: Record<
    string,
    { cpuSeconds: number; rssMedianMiB: number; rssMaxMiB: number; hwmMiB: number }
  >;
}

/** The exporter watching every member, scraped by its own Prometheus. */
export interface ExporterPhase {
  readonly reexpose: boolean;
  readonly members: number;
  readonly clusters: number;
  readonly readyMs: number;
  readonly window: WindowSummary;
  /** Metrics rounds completed in the window, summed over clusters (from the exporter's debug log). */
  readonly clusterRounds: number;
  readonly skippedRounds: number;
  readonly memberRounds: number;
  /** Exporter CPU (utime + stime, all threads) over the window ÷ member-rounds. */
  readonly cpuMsPerMemberRound: number;
  /** (Exporter CPU − idle exporter's CPU) over the window ÷ the member-rounds beyond the idle one's. */
  readonly cpuMsPerMemberRoundAboveIdle: number;
  readonly rssMedianMiB: number;
  readonly rssMaxMiB: number;
  readonly hwmMiB: number;
  readonly idleRssMedianMiB: number;
  readonly rssPerMemberAboveIdleKiB: number;
  readonly exposition: {
    readonly plainBytes: number;
    readonly gzipBytes: number;
    readonly samples: number;
    readonly ourPlainScrapeMs: number;
    readonly ourGzipScrapeMs: number;
  };
  /** Members whose metrics collector succeeded in the last round (etcd_monitor_collector_success). */
  readonly membersCollected: number;
  /** Increase of etcd_monitor_collector_errors_total in the window (Prometheus' view), by `collector:code`. */
  readonly collectorErrors: Record<string, number>;
  readonly prometheus: {
    readonly scrapes: number;
    /** Scrapes that failed (up 0): past the scrape timeout, or an error. */
    readonly failedScrapes: number;
    readonly durationMedianS: number;
    readonly durationMaxS: number;
    readonly shareOfInterval: number;
    readonly samplesScraped: number;
    readonly upMin: number;
    readonly cpuSecondsAboveIdle: number;
    readonly cpuUsPerMemberScrapeAboveIdle: number;
  };
}

/** A Prometheus scraping every member itself. */
export interface DirectPhase {
  readonly members: number;
  readonly window: WindowSummary;
  readonly scrapes: number;
  readonly membersUp: number;
  readonly cpuSeconds: number;
  readonly idleCpuSeconds: number;
  /** (Prometheus CPU − idle Prometheus CPU) over the window ÷ member scrapes in it. */
  readonly cpuMsPerMemberScrape: number;
  readonly durationMedianS: number;
  readonly samplesPerMember: number;
  readonly headSeries: number;
  readonly rssMedianMiB: number;
}

export interface ScaleRun {
  label: string;
  when: string;
  commit: string;
  uncommittedSrc: string[];
  machine: string;
  node: string;
  prometheus: string;
  settings: {
    source: string;
    etcdVersion: string;
    warmupSeconds: number;
    windowSeconds: number;
    scrapeIntervalSeconds: number;
    exporter: string;
    cpuProfile: boolean;
  };
  idle: { members: number; exporterRssMiB: Record<string, number>; prometheusCpuSecondsPerMinute: number };
  sizes: {
    members: number;
    clusters: number;
    exporter: { on?: ExporterPhase; off?: ExporterPhase };
    direct?: DirectPhase;
  }[];
  profiles?: Record<string, ProfileSummary>;
  minutes: number;
}

const errorCell = (errors: Record<string, number> | undefined) =>
  Object.entries(errors ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
const mb = (bytes: number) => fmt(bytes / 1e6, 2);
const pct = (share: number) => `${fmt(share * 100, 1)} %`;

/** The table of one run: one row per size and re-exposure setting. */
export function scaleTable(run: ScaleRun): string[] {
  const interval = run.settings.scrapeIntervalSeconds;
  const lines = [
    `| members | re-expose | exporter CPU / member-round (above idle) | RSS median / max / HWM | RSS / member above idle | /metrics plain / gzip | Prometheus scrape of the exporter (median, % of ${interval} s) | Prometheus CPU / direct member scrape | exporter ÷ direct |`,
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const size of run.sizes) {
    for (const e of [size.exporter.on, size.exporter.off]) {
      if (!e) continue;
      const direct = size.direct?.cpuMsPerMemberScrape ?? NaN;
      lines.push(
        `| ${size.members.toLocaleString('en')} | ${e.reexpose ? 'on' : 'off'} | ${fmt(e.cpuMsPerMemberRound, 3)} ms (${fmt(e.cpuMsPerMemberRoundAboveIdle, 3)}) | ` +
          `${fmt(e.rssMedianMiB, 0)} / ${fmt(e.rssMaxMiB, 0)} / ${fmt(e.hwmMiB, 0)} MiB | ${fmt(e.rssPerMemberAboveIdleKiB, 0)} KiB | ` +
          `${mb(e.exposition.plainBytes)} / ${mb(e.exposition.gzipBytes)} MB | ` +
          `${fmt(e.prometheus.durationMedianS, 3)} s (${pct(e.prometheus.shareOfInterval)})${e.prometheus.failedScrapes > 0 ? `, ${e.prometheus.failedScrapes} of ${e.prometheus.scrapes} failed` : ''} | ` +
          `${fmt(direct, 3)} ms | ${fmt(e.cpuMsPerMemberRound / direct, 2)}× |`,
      );
    }
    if (!size.exporter.on && !size.exporter.off && size.direct) {
      lines.push(
        `| ${size.members.toLocaleString('en')} | — | — | — | — | — | — | ${fmt(size.direct.cpuMsPerMemberScrape, 3)} ms | — |`,
      );
    }
  }
  return lines;
}

/** The issue's four targets, judged on this run's numbers. */
export function verdicts(run: ScaleRun): string[] {
  const out: string[] = [];
  const sorted = [...run.sizes].sort((a, b) => a.members - b.members);
  const small = sorted[0];
  const large = sorted.at(-1);
  const interval = run.settings.scrapeIntervalSeconds;
  if (small && large && small !== large) {
    for (const mode of ['on', 'off'] as const) {
      const a = small.exporter[mode];
      const b = large.exporter[mode];
      if (!a || !b) continue;
      const cpu = b.cpuMsPerMemberRound / a.cpuMsPerMemberRound;
      const rss = b.rssPerMemberAboveIdleKiB / a.rssPerMemberAboveIdleKiB;
      out.push(
        `- Linear growth, re-expose ${mode} (${large.members} vs ${small.members} members, ≤ 1.2×): CPU per member-round ` +
          `${fmt(cpu, 2)}× — **${cpu <= 1.2 ? 'met' : 'missed'}**; RSS per member above idle ${fmt(rss, 2)}× — ` +
          `**${rss <= 1.2 ? 'met' : 'missed'}**.`,
      );
    }
  }
  for (const size of sorted) {
    const direct = size.direct?.cpuMsPerMemberScrape;
    for (const e of [size.exporter.on, size.exporter.off]) {
      if (!e) continue;
      const mode = e.reexpose ? 'on' : 'off';
      const parts: string[] = [];
      if (direct !== undefined) {
        const ratio = e.cpuMsPerMemberRound / direct;
        parts.push(
          `CPU per member-round ${fmt(e.cpuMsPerMemberRound, 3)} vs Prometheus' ${fmt(direct, 3)} ms per direct member scrape ` +
            `(${fmt(ratio, 2)}×) — **${ratio <= 1 ? 'met' : 'missed'}**`,
        );
      }
      parts.push(
        `RSS ${fmt(e.rssPerMemberAboveIdleKiB, 0)} KiB per member above idle (≤ 1,024) — **${e.rssPerMemberAboveIdleKiB <= 1024 ? 'met' : 'missed'}**`,
      );
      out.push(`- ${size.members.toLocaleString('en')} members, re-expose ${mode}: ${parts.join('; ')}.`);
    }
  }
  const withOn = sorted.filter((s) => s.exporter.on);
  const top = withOn.at(-1)?.exporter.on;
  if (top) {
    const met = top.prometheus.shareOfInterval < 0.25;
    out.push(
      `- Prometheus' scrape of the exporter at ${top.members.toLocaleString('en')} members with re-exposure on: ` +
        `${fmt(top.prometheus.durationMedianS, 2)} s median = ${pct(top.prometheus.shareOfInterval)} of ${interval} s ` +
        `(${pct(top.prometheus.durationMedianS / 30)} of kube-prometheus-stack's default 30 s), under 25 % — **${met ? 'met' : 'missed'}**.`,
    );
    if (!met) {
      const below = withOn.filter((s) => (s.exporter.on?.prometheus.shareOfInterval ?? 1) < 0.25).at(-1);
      const above = withOn.find((s) => (s.exporter.on?.prometheus.shareOfInterval ?? 0) >= 0.25);
      if (below?.exporter.on && above?.exporter.on) {
        const x0 = below.members;
        const x1 = above.members;
        const y0 = below.exporter.on.prometheus.shareOfInterval;
        const y1 = above.exporter.on.prometheus.shareOfInterval;
        const cross = Math.round(x0 + ((0.25 - y0) * (x1 - x0)) / (y1 - y0));
        out.push(
          `  Under 25 % at ${x0.toLocaleString('en')} members (${pct(y0)}), over it at ${x1.toLocaleString('en')} (${pct(y1)}); ` +
            `linear between the two measured sizes it crosses at ≈${cross.toLocaleString('en')} members.`,
        );
      }
    }
  }
  return out;
}

function profileLines(run: ScaleRun): string[] {
  if (!run.profiles) return [];
  const lines = [
    `CPU profiles of this run (\`node --cpu-prof\`, whole exporter lifetime; shares of busy time):`,
    '',
  ];
  for (const [key, p] of Object.entries(run.profiles)) {
    lines.push(`${key} (busy ${p.busyMs} ms of ${p.totalMs} ms sampled):`, '');
    lines.push('| self | function |', '| ---: | --- |');
    for (const e of p.topFunctions.slice(0, 15))
      lines.push(`| ${pct(e.share)} | \`${e.what.length > 90 ? `${e.what.slice(0, 87)}...` : e.what}\` |`);
    lines.push('', '| self | file |', '| ---: | --- |');
    for (const e of p.topFiles.slice(0, 10)) lines.push(`| ${pct(e.share)} | \`${e.what}\` |`);
    lines.push('');
  }
  return lines;
}

function conditions(run: ScaleRun): string {
  const busy = run.sizes.flatMap((s) =>
    [s.exporter.on?.window, s.exporter.off?.window, s.direct?.window].flatMap((w) =>
      w ? [w.machineBusy] : [],
    ),
  );
  const load = run.sizes.flatMap((s) =>
    [s.exporter.on?.window, s.exporter.off?.window, s.direct?.window].flatMap((w) =>
      w ? w.loadAverage : [],
    ),
  );
  return (
    `${run.when}, commit ${run.commit}${run.uncommittedSrc.length ? ` + ${run.uncommittedSrc.length} uncommitted src/ files (other sessions' work in progress, listed in the JSON)` : ''}; ` +
    `${run.machine}; node ${run.node}; ${run.prometheus}; members: ${run.settings.source} (etcd ${run.settings.etcdVersion} captures); ` +
    `warm-up ${run.settings.warmupSeconds} s, window ${run.settings.windowSeconds} s, scrape interval ${run.settings.scrapeIntervalSeconds} s; ` +
    `machine busy ${fmt(Math.min(...busy) * 100, 0)}–${fmt(Math.max(...busy) * 100, 0)} % of both cores in the windows, ` +
    `load average ${fmt(Math.min(...load), 1)}–${fmt(Math.max(...load), 1)}; ${run.minutes} min in all.`
  );
}

/** perf/results/scale.md: the newest measured run in full, the others (and profile runs) listed. */
export function renderScaleMarkdown(runs: readonly ScaleRun[]): string {
  const measured = runs.filter((r) => !r.settings.cpuProfile);
  const latest = measured.at(-1);
  const lines = [
    '# Scale: exporter cost per member, next to Prometheus scraping the members directly',
    '',
    'Generated by `npx tsx perf/scale.ts` (method in perf/README.md, "Scale"). Every run is in `scale.json`.',
    '',
  ];
  if (latest) {
    lines.push(`## Latest run (${latest.label})`, '', conditions(latest), '', ...scaleTable(latest), '');
    lines.push('Targets (issue 16):', '', ...verdicts(latest), '');
    lines.push(
      `Idle baselines: exporters watching one 3-member cluster, RSS median ${Object.entries(
        latest.idle.exporterRssMiB,
      )
        .map(([k, v]) => `${v} MiB (${k})`)
        .join(
          ', ',
        )}; an idle Prometheus (no targets) used ${fmt(latest.idle.prometheusCpuSecondsPerMinute, 2)} CPU-s per minute.`,
      '',
    );
    const rows = latest.sizes.flatMap((s) => [s.exporter.on, s.exporter.off].flatMap((e) => (e ? [e] : [])));
    lines.push(
      '| members | re-expose | ready after | cluster rounds in window (skipped) | members collected | collection errors in window | series in /metrics | Prometheus scrapes (max s) | Prometheus CPU / member per scrape of the exporter |',
      '| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
      ...rows.map(
        (e) =>
          `| ${e.members} | ${e.reexpose ? 'on' : 'off'} | ${fmt(e.readyMs / 1000, 1)} s | ${e.clusterRounds} (${e.skippedRounds}) | ${e.membersCollected} | ${errorCell(e.collectorErrors)} | ${e.exposition.samples.toLocaleString('en')} | ${e.prometheus.scrapes} (${fmt(e.prometheus.durationMaxS, 2)}) | ${fmt(e.prometheus.cpuUsPerMemberScrapeAboveIdle / 1000, 3)} ms |`,
      ),
      '',
    );
    const direct = latest.sizes.flatMap((s) => (s.direct ? [s.direct] : []));
    if (direct.length > 0) {
      lines.push(
        '| members (direct) | member scrapes in window | up throughout | Prometheus CPU in window / idle Prometheus | samples per member | head series | scrape median | Prometheus RSS |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...direct.map(
          (d) =>
            `| ${d.members} | ${d.scrapes} | ${d.membersUp} | ${fmt(d.cpuSeconds)} / ${fmt(d.idleCpuSeconds)} s | ${d.samplesPerMember} | ${d.headSeries.toLocaleString('en')} | ${fmt(d.durationMedianS * 1000, 1)} ms | ${fmt(d.rssMedianMiB, 0)} MiB |`,
        ),
        '',
      );
    }
  }
  const profiled = runs.filter((r) => r.profiles);
  const lastProfile = profiled.at(-1);
  if (lastProfile)
    lines.push(
      `## Profile run (${lastProfile.when}, commit ${lastProfile.commit})`,
      '',
      ...profileLines(lastProfile),
    );
  if (runs.length > 1) {
    lines.push('## All runs', '');
    for (const r of runs) {
      const cells = r.sizes
        .flatMap((s) =>
          [s.exporter.on, s.exporter.off].flatMap((e) =>
            e
              ? [
                  `${s.members} ${e.reexpose ? 'on' : 'off'}: ${fmt(e.cpuMsPerMemberRound, 3)} ms/member-round, ${fmt(e.rssPerMemberAboveIdleKiB, 0)} KiB/member, scrape ${fmt(e.prometheus.durationMedianS, 2)} s`,
                ]
              : [],
          ),
        )
        .concat(
          r.sizes.flatMap((s) =>
            s.direct ? [`${s.members} direct: ${fmt(s.direct.cpuMsPerMemberScrape, 3)} ms/scrape`] : [],
          ),
        );
      lines.push(
        `- ${r.label}, ${r.when}, ${r.commit}${r.settings.cpuProfile ? ' (CPU profile; numbers inflated by the profiler)' : ''}: ${cells.join('; ')}.`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
