import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { FIELDS } from '../../config/fields.js';
import { describeError } from '../../util/errors.js';
import { formatDurationMs, parseDurationMs } from '../../util/duration.js';
import { generateFiles } from './files.js';
import type { RenderOptions } from './render.js';
import { defaultSettings, parseTunable, TUNABLES, type RuleSettings, type TunableSpec } from './settings.js';

/** Exporter flags the rules mirror, and the settings key each one sets. */
const MIRRORED = {
  [FIELDS.maxLatencyMs.flag]: { key: 'maxLatencyMs', parse: FIELDS.maxLatencyMs.parse },
  [FIELDS.maxDbSizeMb.flag]: { key: 'maxDbSizeMb', parse: FIELDS.maxDbSizeMb.parse },
  [FIELDS.minAvailableNodes.flag]: { key: 'minAvailableNodes', parse: FIELDS.minAvailableNodes.parse },
  [FIELDS.maxLeaderChanges.flag]: { key: 'maxLeaderChanges', parse: FIELDS.maxLeaderChanges.parse },
  [FIELDS.metricsInterval.flag]: { key: 'metricsIntervalMs', parse: FIELDS.metricsInterval.parse },
  [FIELDS.healthCheckInterval.flag]: {
    key: 'healthCheckIntervalMs',
    parse: FIELDS.healthCheckInterval.parse,
  },
} as const satisfies Record<string, { key: keyof RuleSettings; parse: (raw: unknown) => number }>;

/** Parses `npm run rules` arguments into render options plus where to write. */
export function parseRulesArgs(args: string[]): { options: RenderOptions; outDir: string; check: boolean } {
  const defaults = defaultSettings();
  let y = yargs(args)
    .scriptName('npm run rules --')
    .usage(
      'Renders alert-rules/ (Prometheus rules, PrometheusRule, promtool tests) with the given thresholds.',
    )
    .option('out-dir', {
      type: 'string',
      default: 'alert-rules',
      describe:
        'Directory for etcd-monitor.rules.yml and prometheusrule.yaml (pick another to keep the shipped ones)',
    })
    .option('check', {
      type: 'boolean',
      default: false,
      describe: 'Write nothing; exit 1 if the files differ',
    })
    .option('for-scale', { type: 'number', describe: 'Multiply every `for` (end-to-end tests only)' })
    .option('for-override', {
      type: 'string',
      describe: 'Set every non-zero `for` to this duration (end-to-end tests only)',
    })
    .option('runbook-base-url', {
      type: 'string',
      describe: 'URL of docs/runbooks.md that runbook_url points into',
    });
  for (const [flag, { key }] of Object.entries(MIRRORED)) {
    const def = key.endsWith('IntervalMs') ? formatDurationMs(defaults[key]) : defaults[key];
    const describe = key.endsWith('IntervalMs')
      ? `Same as the exporter flag [default: ${def}]`
      : `Fallback where a cluster has no etcd_monitor_threshold_* series; the exporter's flag or clusters[] value wins [default: ${def}]`;
    y = y.option(flag, { type: 'string', describe });
  }
  for (const [key, spec] of Object.entries(TUNABLES) as [keyof typeof TUNABLES, TunableSpec][]) {
    const def = spec.kind === 'duration' ? formatDurationMs(defaults[key]) : defaults[key];
    y = y.option(spec.flag, { type: 'string', describe: `${spec.doc} [default: ${def}]` });
  }
  const argv = y.strict().help().version(false).wrap(110).parseSync() as Record<string, unknown>;
  const settings: Partial<RuleSettings> = {};
  for (const [flag, { key, parse }] of Object.entries(MIRRORED)) {
    if (argv[flag] === undefined) continue;
    try {
      settings[key] = parse(argv[flag]);
    } catch (err) {
      throw new Error(`--${flag}: ${describeError(err)}`);
    }
  }
  for (const [key, spec] of Object.entries(TUNABLES) as [keyof typeof TUNABLES, TunableSpec][]) {
    if (argv[spec.flag] !== undefined) settings[key] = parseTunable(spec, argv[spec.flag]);
  }
  const options: RenderOptions = {
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    ...(argv['for-scale'] !== undefined ? { forScale: Number(argv['for-scale']) } : {}),
    ...(argv['for-override'] !== undefined
      ? { forOverrideMs: parseDurationMs(String(argv['for-override'])) }
      : {}),
    ...(argv['runbook-base-url'] !== undefined ? { runbookBaseUrl: String(argv['runbook-base-url']) } : {}),
  };
  return { options, outDir: resolve(String(argv['out-dir'])), check: argv.check === true };
}

/** Entry point of `npm run rules`; returns the process exit code. */
export function runRulesCli(args: string[], repoRoot: string): number {
  const { options, outDir, check } = parseRulesArgs(args);
  const files = generateFiles(repoRoot, options);
  let stale = 0;
  for (const [path, content] of files) {
    const target = join(outDir, path.replace(/^alert-rules\//, ''));
    const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (current === content) continue;
    if (check) {
      stale++;
      console.error(`out of date: ${target}`);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    console.log(`wrote ${target}`);
  }
  if (files.size === 2) {
    console.log('promtool tests not rendered: they assert the default thresholds');
  }
  return stale > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = runRulesCli(process.argv.slice(2), process.cwd());
  } catch (err) {
    console.error(describeError(err));
    process.exitCode = 2;
  }
}
