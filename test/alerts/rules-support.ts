import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { RenderedAlert, RenderedGroup } from '../../src/alerts/rules/types.js';

/** Repository root (tests run from it). */
export const ROOT = process.cwd();

/** The shipped Prometheus rules file, parsed. */
export function shippedGroups(): RenderedGroup[] {
  const doc = yaml.load(readFileSync(join(ROOT, 'alert-rules/etcd-monitor.rules.yml'), 'utf8')) as {
    groups: RenderedGroup[];
  };
  return doc.groups;
}

/** Every alerting rule of the given groups. */
export const alertsOf = (groups: RenderedGroup[]): RenderedAlert[] =>
  groups.flatMap((g) => g.rules).filter((r): r is RenderedAlert => 'alert' in r);

/** Throws with an install hint when promtool is missing: these tests must never pass silently without it. */
export function requirePromtool(): string {
  try {
    return execFileSync('promtool', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch (err) {
    throw new Error('promtool is required for the alert rule tests (Debian: apt-get install prometheus)', {
      cause: err,
    });
  }
}

/** Runs promtool with the given arguments; returns exit status and combined output. */
export function promtool(args: string[], cwd = ROOT): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}
