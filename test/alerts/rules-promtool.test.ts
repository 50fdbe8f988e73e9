import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRules, type RenderOptions } from '../../src/alerts/rules/render.js';
import type { RuleSettings } from '../../src/alerts/rules/settings.js';
import { promtool, requirePromtool, ROOT } from './rules-support.js';

const TESTS = 'alert-rules/tests';
const testFiles = (): string[] =>
  readdirSync(join(ROOT, TESTS))
    .filter((f) => f.endsWith('.test.yml'))
    .map((f) => `${TESTS}/${f}`);

/** The test groups (from every rendered file, or those given) that assert something about `alertname`, as one test file. */
function groupsAsserting(alertname: string, files = testFiles()): string {
  const groups = files.flatMap((path) => {
    const doc = yaml.load(readFileSync(join(ROOT, path), 'utf8'), { schema: yaml.FAILSAFE_SCHEMA }) as {
      tests: { alert_rule_test?: { alertname: string }[] }[];
    };
    return doc.tests.filter((t) => (t.alert_rule_test ?? []).some((c) => c.alertname === alertname));
  });
  if (groups.length === 0) throw new Error(`no promtool test group asserts ${alertname}`);
  return yaml.dump({ rule_files: ['../etcd-monitor.rules.yml'], evaluation_interval: '1m', tests: groups });
}

describe('promtool', () => {
  let work: string;
  beforeAll(() => {
    requirePromtool();
    work = mkdtempSync(join(tmpdir(), 'etcd-monitor-rules-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('accepts the rules file', () => {
    const { status, output } = promtool(['check', 'rules', 'alert-rules/etcd-monitor.rules.yml']);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('accepts the PrometheusRule groups', () => {
    const doc = yaml.load(readFileSync(join(ROOT, 'alert-rules/prometheusrule.yaml'), 'utf8')) as {
      spec: { groups: unknown };
    };
    const file = join(work, 'from-prometheusrule.yml');
    writeFileSync(file, yaml.dump({ groups: doc.spec.groups }));
    const { status, output } = promtool(['check', 'rules', file]);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('passes every unit test file', () => {
    const files = testFiles();
    expect(files.length).toBeGreaterThanOrEqual(6);
    const { status, output } = promtool(['test', 'rules', ...files]);
    expect(output, output).not.toContain('FAILED');
    expect(status, output).toBe(0);
  });

  // The cases sit right at the thresholds and `for` boundaries: nudging any of them must break a case,
  // otherwise the cases would not be testing the boundary they claim to. Each mutant runs only the test
  // groups that assert its alert, which keeps this file fast on a busy machine.
  const mutants: [string, string, RenderOptions][] = [
    ['max-latency-ms 100 → 99', 'EtcdProbeLatencyHigh', { settings: { maxLatencyMs: 99 } }],
    ['max-leader-changes 3 → 2', 'EtcdHighNumberOfLeaderChanges', { settings: { maxLeaderChanges: 2 } }],
    ['min-available-nodes 2 → 3', 'EtcdBelowMinAvailableMembers', { settings: { minAvailableNodes: 3 } }],
    ['max-db-size-mb 8192 → 8191', 'EtcdDatabaseSizeAboveLimit', { settings: { maxDbSizeMb: 8191 } }],
    ['quota info 0.65 → 0.64', 'EtcdDatabaseQuotaLowSpace', { settings: { quotaInfoRatio: 0.64 } }],
    [
      'fragmentation ratio 0.5 → 0.49',
      'EtcdDatabaseHighFragmentation',
      { settings: { fragmentationRatio: 0.49 } },
    ],
    [
      'fragmentation floor 0.25 → 0.04',
      'EtcdDatabaseHighFragmentation',
      { settings: { fragmentationMinQuotaRatio: 0.04 } },
    ],
    [
      'gRPC failure share 1% → 0.98%',
      'EtcdHighNumberOfFailedGRPCRequests',
      { settings: { grpcFailureWarningRatio: 0.0098 } },
    ],
    [
      'gRPC minimum traffic 1 → 0.05 req/s',
      'EtcdHighNumberOfFailedGRPCRequests',
      { settings: { grpcMinRequestsPerSecond: 0.05 } },
    ],
    [
      'WAL fsync warning 50 ms → 47 ms',
      'EtcdHighFsyncDurations',
      { settings: { walFsyncWarningSeconds: 0.047 } },
    ],
    [
      'peer RTT slow share 1% → 0.9%',
      'EtcdMemberCommunicationSlow',
      { settings: { peerRttSlowRatio: 0.009 } },
    ],
    ['failed proposals 5 → 4', 'EtcdHighNumberOfFailedProposals', { settings: { failedProposals: 4 } }],
    ['apply lag 2500 → 2499', 'EtcdApplyLag', { settings: { applyLagEntries: 2499 } }],
    ['fd warning 80% → 79%', 'EtcdFileDescriptorsNearLimit', { settings: { fdWarningRatio: 0.79 } }],
    ['quorum-at-risk 15m → 2m', 'EtcdQuorumAtRisk', { settings: { quorumAtRiskTimeout: 120_000 } }],
    ['every `for` × 0.9', 'EtcdMembersDown', { forScale: 0.9 }],
    ['every `for` × 1.1', 'EtcdHighCommitDurations', { forScale: 1.1 }],
  ];
  it.each(mutants)('fails when the rules change: %s', (_name, alertname, options) => {
    const dir = mkdtempSync(join(work, 'mutant-'));
    writeFileSync(join(dir, 'etcd-monitor.rules.yml'), renderRules(options).rulesYaml);
    const file = join(dir, 'tests', 'subset.test.yml');
    mkdirSync(join(dir, 'tests'));
    writeFileSync(file, groupsAsserting(alertname));
    const { status, output } = promtool(['test', 'rules', file]);
    expect(output).toContain('FAILED');
    expect(status).not.toBe(0);
  });

  // The per-cluster threshold cases must be decided by the exporter's etcd_monitor_threshold_* series: with
  // the series renamed away the rules fall back to the rendered defaults everywhere, which must break them.
  it.each([
    'EtcdDatabaseSizeAboveLimit',
    'EtcdProbeLatencyHigh',
    'EtcdBelowMinAvailableMembers',
    'EtcdHighNumberOfLeaderChanges',
  ])('the threshold cases of %s fail when the rules ignore the threshold series', (alertname) => {
    const dir = mkdtempSync(join(work, 'no-series-'));
    const rules = renderRules().rulesYaml;
    expect(rules).toContain('etcd_monitor_threshold_');
    writeFileSync(
      join(dir, 'etcd-monitor.rules.yml'),
      rules.replaceAll('etcd_monitor_threshold_', 'etcd_monitor_ignored_threshold_'),
    );
    mkdirSync(join(dir, 'tests'));
    const file = join(dir, 'tests', 'subset.test.yml');
    writeFileSync(file, groupsAsserting(alertname, [`${TESTS}/thresholds.test.yml`]));
    const { status, output } = promtool(['test', 'rules', file]);
    expect(output).toContain('FAILED');
    expect(status).not.toBe(0);
  });

  it('still passes with a mutant-free render (the mutation harness itself works)', () => {
    const dir = mkdtempSync(join(work, 'control-'));
    mkdirSync(join(dir, 'tests'));
    const settings: Partial<RuleSettings> = {};
    writeFileSync(join(dir, 'etcd-monitor.rules.yml'), renderRules({ settings }).rulesYaml);
    writeFileSync(join(dir, 'tests', 'subset.test.yml'), groupsAsserting('EtcdHighNumberOfFailedProposals'));
    const { status, output } = promtool(['test', 'rules', join(dir, 'tests', 'subset.test.yml')]);
    expect(status, output).toBe(0);
  });
});
