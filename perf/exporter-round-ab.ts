/**
 * Before/after of one collection round between two source trees, on the same clusters in the same
 * minutes: starts the exporter benchmark's clusters once (exporter-fixture.ts), then runs
 * exporter-round-main.ts from tree A and tree B alternately (A B A B …), each with the exporter's node
 * flags. On a shared, noisy machine two separate full benchmark runs minutes apart differ by more than
 * most code changes; alternating on the same clusters leaves the code as the main difference.
 * Run: npx tsx perf/exporter-round-ab.ts --a /tmp/before --b . [--pairs 4] [--reps 9] [--warmup 2]
 *      [--clusters 10] [--members 3] [--out perf/results/NAME]
 * A tree is a checkout (e.g. `git archive <commit> | tar -x -C /tmp/before`, node_modules linked).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFixture } from './exporter-fixture.js';
import type { RoundResult } from './exporter-round.js';
import { median, round } from './exporter-stats.js';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: '.' },
    pairs: { type: 'string', default: '4' },
    reps: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    clusters: { type: 'string', default: '10' },
    members: { type: 'string', default: '3' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'exporter-round-ab') },
  },
});

const log = (msg: string) => process.stdout.write(`${msg}\n`);

/** The node flags `bin/etcd-monitor.js` runs with (its shebang line). */
function shippedNodeFlags(tree: string): string[] {
  const first = readFileSync(path.join(tree, 'bin', 'etcd-monitor.js'), 'utf8').split('\n')[0] ?? '';
  return (/^#!\/usr\/bin\/env -S node(.*)$/.exec(first)?.[1] ?? '').split(/\s+/).filter(Boolean);
}

function runTree(tree: string, configFile: string, out: string): RoundResult {
  execFileSync(
    process.execPath,
    [
      ...shippedNodeFlags(tree),
      '--import',
      'tsx',
      path.join(tree, 'perf', 'exporter-round-main.ts'),
      configFile,
      String(args.reps),
      String(args.warmup),
      out,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: tree },
  );
  return JSON.parse(readFileSync(out, 'utf8')) as RoundResult;
}

async function main(): Promise<void> {
  if (!args.a) throw new Error('--a <tree> is required');
  const trees = { a: path.resolve(args.a), b: path.resolve(args.b) };
  const fixture = await startFixture(
    {
      clusters: Number(args.clusters),
      members: Number(args.members),
      keysPerCluster: 500,
      metricsIntervalSeconds: 10,
    },
    log,
  );
  const runs: { tree: 'a' | 'b'; result: RoundResult; loadAverage: number }[] = [];
  try {
    for (let i = 0; i < Number(args.pairs); i++) {
      for (const tree of ['a', 'b'] as const) {
        const result = runTree(trees[tree], fixture.configFile, path.join(fixture.dir, `${tree}-${i}.json`));
        const loadAverage = round(os.loadavg()[0] ?? 0, 2);
        runs.push({ tree, result, loadAverage });
        log(
          `pair ${i + 1} ${tree.toUpperCase()}: round CPU ${round(result.cpuMs.round)} ms, wall ${round(result.roundMs.median)} ms, raw ${round(result.rawFetchMs.median)} ms, ratio ${round(result.ratio, 2)}, load ${loadAverage}`,
        );
      }
    }
  } finally {
    await fixture.destroy();
  }
  const summary = (tree: 'a' | 'b') => {
    const own = runs.filter((r) => r.tree === tree).map((r) => r.result);
    const cpu = own.map((r) => round(r.cpuMs.round, 1));
    const wall = own.map((r) => round(r.roundMs.median, 1));
    const ratio = own.map((r) => round(r.ratio, 2));
    return {
      tree: trees[tree],
      cpuMs: cpu,
      cpuMedian: median(cpu),
      wallMs: wall,
      wallMedian: median(wall),
      ratio,
    };
  };
  const report = {
    date: new Date().toISOString(),
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    setup: { clusters: Number(args.clusters), members: Number(args.members), reps: Number(args.reps) },
    a: summary('a'),
    b: summary('b'),
    runs: runs.map((r) => ({
      tree: r.tree,
      cpuMs: r.result.cpuMs,
      roundMs: r.result.roundMs.median,
      loadAverage: r.loadAverage,
    })),
  };
  const change = (report.b.cpuMedian / report.a.cpuMedian - 1) * 100;
  const md = [
    '# Collection round, tree A vs tree B (alternating on the same clusters)',
    '',
    `Date ${report.date}; ${report.cpus}; ${report.setup.clusters} clusters × ${report.setup.members} members; ${args.pairs} pairs, each run ${args.warmup} warm-up + ${args.reps} rounds (medians).`,
    '',
    '| tree | round CPU per run (ms) | median | round wall per run (ms) | median | round / raw |',
    '|---|---|---|---|---|---|',
    ...(['a', 'b'] as const).map((t) => {
      const s = report[t];
      return `| ${t.toUpperCase()} \`${s.tree}\` | ${s.cpuMs.join(', ')} | ${s.cpuMedian} | ${s.wallMs.join(', ')} | ${s.wallMedian} | ${s.ratio.join(', ')} |`;
    }),
    '',
    `Round CPU B vs A: ${change >= 0 ? '+' : ''}${round(change, 1)} % (medians of the runs). Load average (1 min) after each run: ${runs.map((r) => r.loadAverage).join(', ')}.`,
    '',
  ].join('\n');
  await mkdir(path.dirname(args.out), { recursive: true });
  await writeFile(`${args.out}.json`, JSON.stringify(report, null, 2) + '\n');
  await writeFile(`${args.out}.md`, md);
  log(`\n${md}\nwritten: ${args.out}.json, ${args.out}.md`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `round A/B failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
