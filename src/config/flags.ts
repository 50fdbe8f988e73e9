import type { Argv } from 'yargs';
import { ConfigError } from '../util/errors.js';
import { formatDurationMs, parseDurationMs } from '../util/duration.js';
import { FIELDS, type FieldName, type FieldSpec } from './fields.js';

// The command line side of the config table: every command that connects to a cluster (`serve`, `bench`,
// `check`) declares the same flags from FIELDS, so `--help` shows the same text and defaults everywhere.

/**
 * `[default: …]` as `--help` shows it: lists comma-separated, an empty default as `none`, durations as the
 * flag takes them (`30s`, not the 30000 ms held inside: a bare number is read as seconds, so copying
 * `30000` from the help would have set an 8-hour interval), a disabled interval as `off`.
 */
export function defaultText(spec: FieldSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.kind === 'duration' && typeof spec.defaultValue === 'number') {
    return spec.defaultValue === 0 ? 'off' : formatDurationMs(spec.defaultValue);
  }
  const def = Array.isArray(spec.defaultValue) ? spec.defaultValue.join(',') : String(spec.defaultValue);
  return def === '' ? 'none' : def;
}

/**
 * The settings a one-shot client command reads: which cluster and how to reach it. The exporter's server,
 * probe, threshold and alert flags would do nothing in `check` or `bench`, so their `--help` does not list
 * them and strict parsing refuses them.
 */
export const CONNECTION_FIELDS: readonly FieldName[] = [
  'endpoints',
  'discoverMembers',
  'dialTimeout',
  'requestTimeout',
  'cert',
  'key',
  'cacert',
  'user',
  'passwordFile',
];

/** `bench`: the connection, plus the data dir (`--save`) and logging (`--serve`). */
export const BENCH_FIELDS: readonly FieldName[] = [...CONNECTION_FIELDS, 'dataDir', 'logLevel', 'logFormat'];

/**
 * Declares `--config` and every exporter setting as a flag. yargs gets no defaults: a flag the user did
 * not give must stay undefined so that resolveConfig can apply flags > environment > file > defaults in
 * one place; the default is only shown in the help text.
 */
export function withConfigFlags<T>(
  y: Argv<T>,
  fields: readonly FieldName[] = Object.keys(FIELDS) as FieldName[],
): Argv<T> {
  let out = y.option('config', {
    type: 'string',
    describe: 'YAML configuration file',
    group: 'Configuration:',
  });
  for (const spec of fields.map((name) => FIELDS[name] as FieldSpec)) {
    out = out.option(spec.flag, {
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      describe: `${spec.doc} [default: ${defaultText(spec)}]`,
      group: 'Configuration:',
    });
  }
  return out;
}

/** Keeps only flags the user gave (yargs also adds camelCase aliases and positional bookkeeping). */
export function givenFlags(argv: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || /[A-Z]/.test(key) || value === undefined) continue;
    flags[key] = value;
  }
  return flags;
}

/** Parses a duration flag (`30s`, `2m`) with the flag name in the error. */
export function parseFlagDuration(raw: string, field = 'duration'): number {
  try {
    return parseDurationMs(raw);
  } catch (err) {
    throw new ConfigError(field, (err as Error).message);
  }
}
