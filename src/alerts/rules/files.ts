import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillAnnotations } from './promtool-tests.js';
import { renderRules, type RenderOptions } from './render.js';

/** Paths (relative to the repository root) of the generated rule files. */
export const RULES_FILE = 'alert-rules/etcd-monitor.rules.yml';
export const PROMETHEUS_RULE_FILE = 'alert-rules/prometheusrule.yaml';
/** Hand-written promtool cases (labels and timing only) and where their runnable form is written. */
export const TEST_CASES_DIR = 'alert-rules/tests/cases';
export const TESTS_DIR = 'alert-rules/tests';

/**
 * Every generated file and its content. Promtool tests are included only for default thresholds,
 * because the hand-written cases assert the shipped defaults.
 */
export function generateFiles(rootDir: string, options: RenderOptions = {}): Map<string, string> {
  const rendered = renderRules(options);
  const files = new Map<string, string>([
    [RULES_FILE, rendered.rulesYaml],
    [PROMETHEUS_RULE_FILE, rendered.prometheusRuleYaml],
  ]);
  if (isDefault(options)) {
    for (const name of testCaseNames(rootDir)) {
      const source = readFileSync(join(rootDir, TEST_CASES_DIR, name), 'utf8');
      const target = `${TESTS_DIR}/${name.replace(/\.yml$/, '.test.yml')}`;
      files.set(target, fillAnnotations(source, rendered.groups, '../etcd-monitor.rules.yml'));
    }
  }
  return files;
}

/** The hand-written promtool case files, sorted. */
export function testCaseNames(rootDir: string): string[] {
  return readdirSync(join(rootDir, TEST_CASES_DIR))
    .filter((name) => name.endsWith('.yml'))
    .sort();
}

/** True when the options render exactly the shipped files. */
export function isDefault(options: RenderOptions): boolean {
  return (
    Object.keys(options.settings ?? {}).length === 0 &&
    options.forScale === undefined &&
    options.forOverrideMs === undefined &&
    options.runbookBaseUrl === undefined
  );
}
