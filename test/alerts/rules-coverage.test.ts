import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { alertsOf, ROOT, shippedGroups } from './rules-support.js';

interface Case {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[];
}

/** Every alert_rule_test of every promtool file, with the file and test group it came from. */
function cases(): (Case & { file: string; group: number; evalSeconds: number })[] {
  const dir = join(ROOT, 'alert-rules/tests');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.yml'))
    .flatMap((file) => {
      const doc = yaml.load(readFileSync(join(dir, file), 'utf8'), { schema: yaml.FAILSAFE_SCHEMA }) as {
        tests: { alert_rule_test?: Case[] }[];
      };
      return doc.tests.flatMap((t, group) =>
        (t.alert_rule_test ?? []).map((c) => ({ ...c, file, group, evalSeconds: seconds(c.eval_time) })),
      );
    });
}

/** Seconds of a promtool duration such as "1h29m" or "30s". */
function seconds(duration: string): number {
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)([smhd])/g))
    total += Number(n) * (units[unit as string] ?? 0);
  return total;
}

/** Level-2 sections of docs/runbooks.md keyed by heading text. */
function runbookSections(): Map<string, string> {
  const text = readFileSync(join(ROOT, 'docs/runbooks.md'), 'utf8');
  const sections = new Map<string, string>();
  const parts = text.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline).trim(), part.slice(newline + 1));
  }
  return sections;
}

/** The anchor GitHub gives a heading (lower case, spaces to dashes, punctuation dropped). */
const githubAnchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

const rules = alertsOf(shippedGroups());
const alertNames = [...new Set(rules.map((r) => r.alert))];
/** Always fires by design; it has no "silent" case. */
const ALWAYS_FIRING = new Set(['EtcdMonitorWatchdog']);

describe('every alert is tested and documented', () => {
  const all = cases();

  it.each(rules.map((r) => [r.alert, r.labels.severity ?? '']))(
    '%s (%s) has a firing promtool case',
    (name, severity) => {
      const firing = all.filter(
        (c) => c.alertname === name && (c.exp_alerts ?? []).some((a) => a.exp_labels?.severity === severity),
      );
      expect(firing.length, `no case expects ${name} with severity ${severity} to fire`).toBeGreaterThan(0);
    },
  );

  it.each(rules.filter((r) => !ALWAYS_FIRING.has(r.alert)).map((r) => [r.alert, r.labels.severity ?? '']))(
    '%s (%s) has a silent promtool case',
    (name, severity) => {
      const silent = all.filter(
        (c) => c.alertname === name && !(c.exp_alerts ?? []).some((a) => a.exp_labels?.severity === severity),
      );
      expect(
        silent.length,
        `no case expects ${name} with severity ${severity} to stay silent`,
      ).toBeGreaterThan(0);
    },
  );

  // "Fires at its threshold after its `for`": some group shows the alert absent one evaluation (1m) before the
  // evaluation where it first fires, so neither an early nor a late firing can pass unnoticed.
  it.each(rules.filter((r) => !ALWAYS_FIRING.has(r.alert)).map((r) => [r.alert, r.labels.severity ?? '']))(
    '%s (%s) is asserted silent one evaluation before it fires',
    (name, severity) => {
      const fires = (c: Case) => (c.exp_alerts ?? []).some((a) => a.exp_labels?.severity === severity);
      const edges = all.filter(
        (c) =>
          c.alertname === name &&
          fires(c) &&
          all.some(
            (b) =>
              b.file === c.file &&
              b.group === c.group &&
              b.alertname === name &&
              b.evalSeconds === c.evalSeconds - 60 &&
              !fires(b),
          ),
      );
      expect(
        edges.length,
        `no group shows ${name} (${severity}) silent at T-1m and firing at T`,
      ).toBeGreaterThan(0);
    },
  );

  it('tests only alerts that exist, and every expected alert carries a cluster label', () => {
    for (const c of all) {
      expect(alertNames, `${c.file}: unknown alert ${c.alertname}`).toContain(c.alertname);
      for (const a of c.exp_alerts ?? []) {
        expect(a.exp_labels?.cluster, `${c.file} ${c.alertname}@${c.eval_time}`).toBeTruthy();
      }
    }
  });

  const sections = runbookSections();

  it.each(alertNames)('%s has a runbook with meaning, impact, diagnosis and mitigation', (name) => {
    const body = sections.get(name);
    expect(body, `docs/runbooks.md has no "## ${name}" section`).toBeDefined();
    for (const sub of ['Meaning', 'Impact', 'Diagnosis', 'Mitigation']) {
      expect(body, `${name}: missing "### ${sub}"`).toMatch(new RegExp(`^### ${sub}\\s*$`, 'm'));
    }
    expect(body, `${name}: diagnosis needs a query or command block`).toMatch(/```/);
    expect(body).not.toMatch(/TODO|TBD/);
    for (const rule of rules.filter((r) => r.alert === name)) {
      expect(rule.annotations.runbook_url.endsWith(`docs/runbooks.md#${githubAnchor(name)}`)).toBe(true);
    }
  });

  it('documents no alert that does not exist', () => {
    const documented = [...sections.keys()].filter((h) => /^[A-Z][A-Za-z0-9]+$/.test(h));
    expect(documented.filter((h) => !alertNames.includes(h))).toEqual([]);
  });
});
