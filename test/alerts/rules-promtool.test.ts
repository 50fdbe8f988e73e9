import {
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
} from 'node:fs';
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
  // otherwise the cases would not be testing the boundary they claim to.
  const mutants: [string, string, RenderOptions][] = [
    ['max-latency-ms 100 → 99', 'requests', { settings: { maxLatencyMs: 99 } }],
    ['max-leader-changes 3 → 2', 'cluster', { settings: { maxLeaderChanges: 2 } }],
    ['min-available-nodes 2 → 3', 'cluster', { settings: { minAvailableNodes: 3 } }],
    ['max-db-size-mb 8192 → 8191', 'database', { settings: { maxDbSizeMb: 8191 } }],
    ['quota info 0.65 → 0.64', 'database', { settings: { quotaInfoRatio: 0.64 } }],
    ['fragmentation ratio 0.5 → 0.49', 'database', { settings: { fragmentationRatio: 0.49 } }],
    ['fragmentation floor 0.25 → 0.04', 'database', { settings: { fragmentationMinQuotaRatio: 0.04 } }],
    ['gRPC failure share 1% → 0.98%', 'requests', { settings: { grpcFailureWarningRatio: 0.0098 } }],
    ['gRPC minimum traffic 1 → 0.05 req/s', 'requests', { settings: { grpcMinRequestsPerSecond: 0.05 } }],
    ['WAL fsync warning 50 ms → 47 ms', 'member', { settings: { walFsyncWarningSeconds: 0.047 } }],
    ['peer RTT slow share 1% → 0.9%', 'member', { settings: { peerRttSlowRatio: 0.009 } }],
    ['failed proposals 5 → 4', 'member', { settings: { failedProposals: 4 } }],
    ['apply lag 2500 → 2499', 'member', { settings: { applyLagEntries: 2499 } }],
    ['fd warning 80% → 79%', 'member', { settings: { fdWarningRatio: 0.79 } }],
    [
      'quorum-at-risk 15m → 2m (rolling restart)',
      'scenarios',
      { settings: { quorumAtRiskTimeout: 120_000 } },
    ],
    ['every `for` × 0.9', 'cluster', { forScale: 0.9 }],
    ['every `for` × 1.1', 'member', { forScale: 1.1 }],
  ];
  it.each(mutants)('fails when the rules change: %s', (_name, file, options) => {
    const dir = mkdtempSync(join(work, 'mutant-'));
    mkdirSync(join(dir, 'tests'));
    writeFileSync(join(dir, 'etcd-monitor.rules.yml'), renderRules(options).rulesYaml);
    copyFileSync(join(ROOT, TESTS, `${file}.test.yml`), join(dir, 'tests', `${file}.test.yml`));
    const { status, output } = promtool(['test', 'rules', join(dir, 'tests', `${file}.test.yml`)]);
    expect(output).toContain('FAILED');
    expect(status).not.toBe(0);
  });

  it('still passes with a mutant-free render (the mutation harness itself works)', () => {
    const dir = mkdtempSync(join(work, 'control-'));
    mkdirSync(join(dir, 'tests'));
    const settings: Partial<RuleSettings> = {};
    writeFileSync(join(dir, 'etcd-monitor.rules.yml'), renderRules({ settings }).rulesYaml);
    copyFileSync(join(ROOT, TESTS, 'member.test.yml'), join(dir, 'tests', 'member.test.yml'));
    const { status, output } = promtool(['test', 'rules', join(dir, 'tests', 'member.test.yml')]);
    expect(status, output).toBe(0);
  });
});
