import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/config/fields.js';
import { parseRulesArgs, runRulesCli } from '../../src/alerts/rules/cli.js';
import { generateFiles } from '../../src/alerts/rules/files.js';
import { DEFAULT_RUNBOOK_BASE_URL, renderRules } from '../../src/alerts/rules/render.js';
import { THRESHOLD_METRICS } from '../../src/expose/metric-table.js';
import { alertsOf, ROOT, shippedGroups } from './rules-support.js';

const exprOf = (yamlText: string, alert: string, severity = 'warning'): string => {
  const groups = (yaml.load(yamlText) as { groups: Parameters<typeof alertsOf>[0] }).groups;
  const rule = alertsOf(groups).find((a) => a.alert === alert && a.labels.severity === severity);
  if (!rule) throw new Error(`no ${alert}/${severity}`);
  return rule.expr;
};

/** The threshold alerts: the exporter's series each compares against, and that flag's FIELDS entry. */
const THRESHOLD_ALERTS = [
  ['EtcdProbeLatencyHigh', 'warning', 'etcd_monitor_threshold_max_latency_seconds'],
  ['EtcdDatabaseSizeAboveLimit', 'warning', 'etcd_monitor_threshold_max_db_size_bytes'],
  ['EtcdBelowMinAvailableMembers', 'critical', 'etcd_monitor_threshold_min_available_members'],
  ['EtcdHighNumberOfLeaderChanges', 'warning', 'etcd_monitor_threshold_max_leader_changes_per_hour'],
] as const;

/** The rendered default that stands in for `series` where a cluster has none (see compareToThreshold). */
function fallbackOf(expr: string, series: string): number {
  const match = new RegExp(
    `max by \\(cluster\\) \\(${series}\\) or on \\(cluster\\) ([0-9.e+-]+) \\* group by \\(cluster\\)`,
  ).exec(expr);
  if (!match) throw new Error(`${expr} does not compare against ${series}`);
  return Number(match[1]);
}

describe('generated alert rules', () => {
  it('ships exactly what `npm run rules` generates with the default thresholds', () => {
    const files = generateFiles(ROOT);
    expect(files.size).toBeGreaterThan(2);
    for (const [path, content] of files) {
      expect(readFileSync(join(ROOT, path), 'utf8'), `${path} is stale: run npm run rules`).toBe(content);
    }
  });

  it('has the same groups in the rules file and the PrometheusRule', () => {
    const rule = yaml.load(readFileSync(join(ROOT, 'alert-rules/prometheusrule.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { groups: unknown };
    };
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.metadata.name).toBe('etcd-monitor');
    expect(rule.spec.groups).toEqual(shippedGroups());
  });

  it("compares every flag threshold against the exporter's series, with the FIELDS default as fallback", () => {
    const { rulesYaml } = renderRules();
    const fallbacks = THRESHOLD_ALERTS.map(([alert, severity, series]) =>
      fallbackOf(exprOf(rulesYaml, alert, severity), series),
    );
    expect(fallbacks).toEqual([
      FIELDS.maxLatencyMs.defaultValue / 1000,
      FIELDS.maxDbSizeMb.defaultValue * 1024 * 1024,
      FIELDS.minAvailableNodes.defaultValue,
      FIELDS.maxLeaderChanges.defaultValue,
    ]);
    // The comparison keeps the alert's own labels: group_left on the cluster, nothing copied over.
    for (const [alert, severity] of THRESHOLD_ALERTS)
      expect(exprOf(rulesYaml, alert, severity)).toMatch(/ [<>] on \(cluster\) group_left \(\) \(max by/);
  });

  it('uses every threshold series the exporter exposes, and only those', () => {
    const used = new Set(
      alertsOf(shippedGroups()).flatMap((a) => a.expr.match(/etcd_monitor_threshold_[a-z_]+/g) ?? []),
    );
    expect([...used].sort()).toEqual(THRESHOLD_METRICS.map((m) => m.name).sort());
    expect([...used].sort()).toEqual(THRESHOLD_ALERTS.map(([, , series]) => series).sort());
  });

  it('renders other thresholds from `npm run rules` flags', () => {
    const { options } = parseRulesArgs([
      '--max-latency-ms',
      '50',
      '--max-db-size-mb',
      '2048',
      '--min-available-nodes',
      '3',
      '--max-leader-changes',
      '10',
      '--quota-warning-ratio',
      '0.7',
      '--learner-promotion-timeout',
      '2h',
    ]);
    const { rulesYaml, groups } = renderRules(options);
    expect(
      THRESHOLD_ALERTS.map(([alert, severity, series]) =>
        fallbackOf(exprOf(rulesYaml, alert, severity), series),
      ),
    ).toEqual([0.05, 2147483648, 3, 10]);
    expect(exprOf(rulesYaml, 'EtcdDatabaseQuotaLowSpace')).toMatch(/> 0\.7$/);
    expect(alertsOf(groups).find((a) => a.alert === 'EtcdLearnerNotPromoted')?.for).toBe('2h');
    expect(rulesYaml).toContain('maxLatencyMs: 50');
  });

  it('writes user thresholds to another directory and checks the shipped files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-rules-cli-'));
    try {
      expect(runRulesCli(['--out-dir', dir, '--max-latency-ms', '50'], ROOT)).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['etcd-monitor.rules.yml', 'prometheusrule.yaml']);
      const expr = exprOf(readFileSync(join(dir, 'etcd-monitor.rules.yml'), 'utf8'), 'EtcdProbeLatencyHigh');
      expect(fallbackOf(expr, 'etcd_monitor_threshold_max_latency_seconds')).toBe(0.05);
      expect(runRulesCli(['--check', '--out-dir', dir], ROOT)).toBe(1);
      expect(runRulesCli(['--check'], ROOT)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects invalid threshold flags with the flag name', () => {
    expect(() => parseRulesArgs(['--max-latency-ms', 'fast'])).toThrow(/--max-latency-ms/);
    expect(() => parseRulesArgs(['--quota-warning-ratio', '75'])).toThrow(/--quota-warning-ratio/);
    expect(() => parseRulesArgs(['--growth-horizon', 'soon'])).toThrow(/duration/);
  });

  it('shortens every `for` for end-to-end tests without touching instant alerts', () => {
    const overridden = alertsOf(renderRules({ forOverrideMs: 5000 }).groups);
    const shipped = alertsOf(shippedGroups());
    overridden.forEach((alert, i) =>
      expect(alert.for).toBe(shipped[i]?.for === undefined ? undefined : '5s'),
    );
    const scaled = alertsOf(renderRules({ forScale: 0.01 }).groups);
    expect(scaled.find((a) => a.alert === 'EtcdMembersDown')?.for).toBe('6s');
    expect(renderRules({ forScale: 0.01 }).rulesYaml).toContain('do not deploy');
  });

  it('labels and annotates every alert', () => {
    const alerts = alertsOf(shippedGroups());
    expect(alerts.length).toBeGreaterThan(30);
    for (const alert of alerts) {
      expect(alert.alert, 'CamelCase name').toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(['info', 'warning', 'critical']).toContain(alert.labels.severity);
      expect(alert.annotations.summary, alert.alert).toMatch(/\.$/);
      expect(alert.annotations.runbook_url).toBe(`${DEFAULT_RUNBOOK_BASE_URL}#${alert.alert.toLowerCase()}`);
      // Real clusters are named in the description; the two exporter-wide alerts carry cluster="all".
      if (alert.labels.cluster === 'all') continue;
      expect(alert.annotations.description, alert.alert).toContain('{{ $labels.cluster }}');
      if (/by \(cluster, member/.test(alert.expr) || alert.expr.startsWith('cluster_member')) {
        expect(alert.annotations.description, alert.alert).toContain('{{ $labels.member }}');
      }
    }
  });

  it('names recording rules level:metric:operations with a cluster level', () => {
    const records = shippedGroups()
      .flatMap((g) => g.rules)
      .filter((r) => 'record' in r);
    expect(records.length).toBeGreaterThan(5);
    for (const rule of records) {
      expect(rule.record).toMatch(/^cluster(_[a-z]+)*:[a-z0-9_]+:[a-z0-9_]+$/);
      expect(rule.expr, rule.record).toMatch(/by \(cluster|^cluster|\/ cluster|1 - sum by \(cluster/);
    }
  });
});
