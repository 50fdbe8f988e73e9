/**
 * In-process pipeline benchmark (not a test): the exporter's CPU, allocation and memory per member per
 * round for 30, 300 and 1,000 members (3-member clusters), re-exposure on and off, without the network.
 * Each configuration runs in its own child (perf/exporter-pipeline-child.ts, which says exactly what is
 * measured and what is left out) under the exporter's shipped GC flags, so RSS and heap are its own.
 * Run: npx tsx perf/exporter-pipeline.ts --label after [--root /path/to/other/checkout]
 *      [--compare /path/to/before/checkout --compare-label before] [--repeat 3]
 *      [--members 30,300,1000] [--intervals 6] [--spread-ms 1000]
 * `--root` measures another checkout's src/ with this harness (e.g. `git worktree add /tmp/pipeline-before
 * <commit>` plus a node_modules symlink), so before and after are measured the same way. `--compare` runs
 * that checkout too, alternating with --root for every configuration and repeat, so both see the same
 * machine load (the 2-core machine is shared); each configuration reports the repeat of median CPU.
 * Merges its runs into perf/results/exporter-pipeline.json under their labels and rewrites
 * perf/results/exporter-pipeline.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { round } from './exporter-stats.js';

const REPO = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'after' },
    root: { type: 'string', default: REPO },
    compare: { type: 'string' },
    'compare-label': { type: 'string', default: 'before' },
    repeat: { type: 'string', default: '1' },
    /** Rewrites the .md from the .json without running anything. */
    'report-only': { type: 'boolean', default: false },
    members: { type: 'string', default: '30,300,1000' },
    reexpose: { type: 'string', default: 'on,off' },
    intervals: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '3' },
    'spread-ms': { type: 'string', default: '1000' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'exporter-pipeline') },
  },
});
const ROOT = path.resolve(args.root);
/** bin/etcd-monitor.js' GC flags, so allocation turns into the RSS and GC time the exporter really has. */
const GC_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=25'];

interface Result {
  readonly members: number;
  readonly reexpose: boolean;
  readonly cpuMsPerMemberRound: number;
  readonly allocatedKiBPerMemberRound: number;
  readonly gcMsPerMemberRound: number;
  readonly exposition: number;
  readonly idleRssMiB: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly rssKiBPerMember: number;
  readonly heapKiBPerMember: number;
  readonly reexposedSha256: string;
  readonly [key: string]: unknown;
}
interface Run {
  readonly label: string;
  readonly commit: string;
  readonly when: string;
  readonly machine: string;
  readonly settings: { intervals: number; warmup: number; spreadMs: number; repeat: number };
  readonly results: readonly Result[];
}

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const commitOf = (root: string) =>
  execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const sides = [
  ...(args.compare ? [{ label: args['compare-label'], root: path.resolve(args.compare) }] : []),
  { label: args.label, root: ROOT },
];
const runs = new Map(sides.map((side) => [side.label, [] as Result[]]));

function child(root: string, members: number, reexpose: string): Result {
  const out = execFileSync(
    process.execPath,
    [
      ...GC_FLAGS,
      '--expose-gc',
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'exporter-pipeline-child.ts'),
      '--root',
      root,
      '--clusters',
      String(Math.round(members / 3)),
      '--reexpose',
      reexpose,
      '--intervals',
      args.intervals,
      '--warmup',
      args.warmup,
      '--spread-ms',
      args['spread-ms'],
    ],
    { encoding: 'utf8', cwd: REPO, maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Result;
}

for (const members of args['report-only'] ? [] : args.members.split(',').map(Number)) {
  for (const reexpose of args.reexpose.split(',')) {
    const repeats = new Map(sides.map((side) => [side.label, [] as Result[]]));
    for (let i = 0; i < Number(args.repeat); i++) {
      for (const side of sides) {
        const result = child(side.root, members, reexpose);
        repeats.get(side.label)?.push(result);
        log(
          `${side.label} ${result.members} members, reexpose ${reexpose}: ${round(result.cpuMsPerMemberRound, 2)} ms CPU/member-round, ` +
            `${round(result.allocatedKiBPerMemberRound, 0)} KiB allocated, RSS ${round(result.rssMiB)} MiB ` +
            `(${round(result.rssKiBPerMember, 0)} KiB/member above idle)`,
        );
      }
    }
    for (const [label, results] of repeats) {
      const sorted = [...results].sort((a, b) => a.cpuMsPerMemberRound - b.cpuMsPerMemberRound);
      const picked = sorted[Math.floor((sorted.length - 1) / 2)] as Result;
      runs.get(label)?.push({ ...picked, cpuMsRepeats: results.map((r) => round(r.cpuMsPerMemberRound, 2)) });
    }
  }
}

const jsonFile = `${args.out}.json`;
let merged: Run[] = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Run[]) : [];
for (const side of args['report-only'] ? [] : sides) {
  const run: Run = {
    label: side.label,
    commit: commitOf(side.root),
    when: new Date().toISOString(),
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)}`,
    settings: {
      intervals: Number(args.intervals),
      warmup: Number(args.warmup),
      spreadMs: Number(args['spread-ms']),
      repeat: Number(args.repeat),
    },
    results: runs.get(side.label) ?? [],
  };
  merged = [...merged.filter((r) => r.label !== run.label), run];
}
writeFileSync(jsonFile, `${JSON.stringify(merged, null, 2)}\n`);
writeFileSync(`${args.out}.md`, report(merged));
log(`wrote ${jsonFile} and ${args.out}.md`);

function report(all: readonly Run[]): string {
  const lines = [
    '# Exporter pipeline (perf/exporter-pipeline.ts)',
    '',
    "Per metrics interval (10 s default): every cluster's metrics round, a health round every third interval",
    '(30 s default), one gzip scrape of /metrics. Real etcd 3.4/3.5 captures fed through the real Monitor;',
    'network I/O left out (see perf/exporter-pipeline-child.ts). CPU is process.cpuUsage (all threads,',
    'incl. GC and zlib) per member per interval; allocation is bytes freed by GC plus heap growth.',
    '',
    '| label | commit | members | re-expose | CPU ms/member-round (repeats) | alloc KiB/member-round | /metrics MB | scrape wall ms | RSS MiB (idle) | RSS KiB/member above idle | heap KiB/member | re-exposed sha256 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of all) {
    for (const x of r.results) {
      lines.push(
        `| ${r.label} | ${r.commit} | ${x.members} | ${x.reexpose ? 'on' : 'off'} | ${round(x.cpuMsPerMemberRound, 2)} ` +
          `(${((x['cpuMsRepeats'] as number[] | undefined) ?? []).join(', ')}) | ${round(x.allocatedKiBPerMemberRound, 0)} | ` +
          `${round(x.exposition / 1e6, 2)} | ${x['scrapeMsMedian'] === undefined ? '' : round(x['scrapeMsMedian'] as number, 0)} | ` +
          `${round(x.rssMiB, 0)} (${round(x.idleRssMiB, 0)}) | ${round(x.rssKiBPerMember, 0)} | ${round(x.heapKiBPerMember, 0)} | ${x.reexposedSha256} |`,
      );
    }
  }
  lines.push(
    '',
    ...all.map((r) => `- ${r.label}: ${r.when}, ${r.machine}, ${JSON.stringify(r.settings)}`),
    '',
  );
  return lines.join('\n');
}
