/**
 * Renders the upstream etcd mixin (third-party, kept unmodified outside the project: see its SOURCE.md)
 * with Debian's `jsonnet`, through deploy/etcd-mixin/etcd-monitor.libsonnet as a user would, and turns
 * the result into what the compatibility test needs: a rule file with short `for:` clauses and every
 * dashboard query with its legend.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { formatDurationMs, parseDurationMs } from '../../src/util/duration.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const SHARED_MIXIN = 'shared/upstream/etcd-mixin';

/**
 * Where the upstream mixin is: ETCD_MIXIN_DIR, else `../shared/` beside this checkout, else beside the
 * checkout this one was cloned from (CI runs `git clone -q . /tmp/ci-clone`, which has no `../shared`;
 * its origin, the working checkout, does). The first candidate is returned when none exists, so the error
 * names where it was looked for.
 */
function findMixin(): string {
  if (process.env.ETCD_MIXIN_DIR) return process.env.ETCD_MIXIN_DIR;
  const candidates = [path.resolve(ROOT, '..', SHARED_MIXIN)];
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    // Only a local path: a clone of a hosted repository has no shared folder beside its origin.
    if (path.isAbsolute(origin.trim())) candidates.push(path.resolve(origin.trim(), '..', SHARED_MIXIN));
  } catch {
    // not a git checkout, or no origin: only the folder beside this checkout counts
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'mixin.libsonnet'))) ?? (candidates[0] as string);
}

/** The unmodified upstream mixin: etcd-io/etcd contrib/mixin plus its vendor/ (grafonnet, docsonnet, xtd). */
export const MIXIN_DIR = findMixin();
export const JSONNET_BIN = process.env.JSONNET_BIN ?? 'jsonnet';
export const LIBSONNET_DIR = path.join(ROOT, 'deploy/etcd-mixin');
/** The import path jsonnet-bundler gives the mixin (`jb install github.com/etcd-io/etcd/contrib/mixin`). */
const MIXIN_IMPORT = 'github.com/etcd-io/etcd/contrib/mixin';

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}
export interface Rendered {
  alerts: { groups: RuleGroup[] };
  dashboards: Record<string, unknown>;
}

/**
 * Evaluates `code` with the mixin importable under its jsonnet-bundler path and etcd-monitor.libsonnet
 * importable by name. Throws (never skips) when jsonnet or the mixin is missing.
 */
export function renderJsonnet(code: string): Rendered {
  if (!existsSync(path.join(MIXIN_DIR, 'mixin.libsonnet'))) {
    throw new Error(`the upstream etcd mixin is not at ${MIXIN_DIR} (set ETCD_MIXIN_DIR)`);
  }
  const jpath = mkdtempSync(path.join(os.tmpdir(), 'etcd-mixin-jpath-'));
  try {
    const link = path.join(jpath, MIXIN_IMPORT);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(MIXIN_DIR, link);
    const out = execFileSync(
      JSONNET_BIN,
      ['-J', jpath, '-J', path.join(MIXIN_DIR, 'vendor'), '-J', LIBSONNET_DIR, '-e', code],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    return JSON.parse(out) as Rendered;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${JSONNET_BIN} not found: scripts/install-deps.sh installs Debian's jsonnet package`);
    }
    throw err;
  } finally {
    rmSync(jpath, { recursive: true, force: true });
  }
}

/** `mixin` (a jsonnet expression) with `_config` overrides, rendered as alerts and dashboards. */
export function renderMixin(mixin: string, config: Record<string, string | number | boolean> = {}): Rendered {
  const overrides = JSON.stringify(config);
  return renderJsonnet(
    `local m = (${mixin}) + { _config+:: ${overrides} };
     { alerts: m.prometheusAlerts, dashboards: m.grafanaDashboards }`,
  );
}

/** deploy/etcd-mixin/etcd-monitor.libsonnet as shipped. */
export const SHIPPED = `import 'etcd-monitor.libsonnet'`;
/** The bare upstream mixin. */
export const UPSTREAM = `import '${MIXIN_IMPORT}/mixin.libsonnet'`;

/**
 * The rule groups with every `for:` scaled by `scale` (at least `minMs`) and `labels` added to every
 * alert, as a Prometheus rule file.
 */
export function shortenedRuleFile(
  groups: readonly RuleGroup[],
  scale: number,
  minMs: number,
  labels: Record<string, string> = {},
  groupSuffix = '',
): string {
  const out = groups.map((g) => ({
    name: g.name + groupSuffix,
    rules: g.rules.map((r) => ({
      ...r,
      ...(r.for
        ? {
            for: formatDurationMs(
              Math.max(minMs, Math.round((parseDurationMs(r.for) * scale) / 1000) * 1000),
            ),
          }
        : {}),
      labels: { ...r.labels, ...labels },
    })),
  }));
  return yaml.dump({ groups: out }, { lineWidth: -1 });
}

export interface DashboardTarget {
  dashboard: string;
  panel: string;
  expr: string;
  legendFormat: string;
}

interface PanelJson {
  title?: string;
  targets?: Array<{ expr?: string; legendFormat?: string }>;
  panels?: PanelJson[];
}

/** Every panel target with an expression, in both layouts (Grafana ≥ 8 `panels`, Grafana 7 `rows[].panels`). */
export function dashboardTargets(dashboards: Record<string, unknown>): DashboardTarget[] {
  const found: DashboardTarget[] = [];
  const walk = (dashboard: string, panels: readonly PanelJson[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr)
          found.push({ dashboard, panel: p.title ?? '', expr: t.expr, legendFormat: t.legendFormat ?? '' });
      }
      walk(dashboard, p.panels ?? []);
    }
  };
  for (const [name, d] of Object.entries(dashboards)) {
    const json = d as { panels?: PanelJson[]; rows?: Array<{ panels?: PanelJson[] }> };
    walk(name, json.panels ?? []);
    for (const row of json.rows ?? []) walk(name, row.panels ?? []);
  }
  return found;
}

/** The dashboard's template variables: name → label_values() query, as Grafana runs them. */
export function templateQueries(dashboards: Record<string, unknown>): Array<{ name: string; query: string }> {
  return Object.values(dashboards).flatMap((d) =>
    (
      (d as { templating?: { list?: Array<{ name: string; type: string; query?: unknown }> } }).templating
        ?.list ?? []
    )
      .filter((v) => v.type === 'query')
      .map((v) => ({ name: v.name, query: typeof v.query === 'string' ? v.query : JSON.stringify(v.query) })),
  );
}

/** Grafana's legend: `{{label}}` replaced by the series' label value ('' when absent). */
export function resolveLegend(format: string, labels: Record<string, string>): string {
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => labels[name] ?? '');
}
