import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DASHBOARDS,
  README,
  fileName,
  renderReadmeText,
  renderText,
} from '../../scripts/dashboards/index.js';
import { UID } from '../../scripts/dashboards/uids.js';
import {
  DASHBOARD_DIR,
  classify,
  expressions,
  exporterFamilies,
  loadDashboards,
  type DashboardJson,
} from './dashboard-files.js';
import { selectors } from './promql.js';

const dashboards = loadDashboards();
const CORE_PANEL_TYPES = new Set(['row', 'stat', 'timeseries', 'table', 'gauge', 'bargauge']);
const CLUSTER_FILTER =
  /and on \(job, instance\) (last_over_time\()?etcd_monitor_cluster_info\{cluster=~?"\$cluster"\}/;
let exporter: Awaited<ReturnType<typeof exporterFamilies>>;

beforeAll(async () => {
  exporter = await exporterFamilies();
});

const hasVar = (d: DashboardJson, name: string) => d.templating.list.some((v) => v.name === name);

describe('dashboard files', () => {
  it('are exactly the five bundled dashboards, one file per stable uid', () => {
    expect([...dashboards.keys()]).toEqual(
      Object.values(UID)
        .map((uid) => `${uid}.json`)
        .sort(),
    );
    for (const [file, d] of dashboards) expect(`${d.uid}.json`).toBe(file);
  });

  it('equal the generator output (run `node --import tsx scripts/dashboards/build.ts` after editing a spec)', async () => {
    for (const spec of DASHBOARDS) {
      const committed = readFileSync(path.join(DASHBOARD_DIR, fileName(spec)), 'utf8');
      expect(committed, fileName(spec)).toBe(await renderText(spec));
    }
    expect(readFileSync(README, 'utf8'), 'dashboards/README.md').toBe(await renderReadmeText());
  });

  it('the README names every dashboard file and every panel title', () => {
    const readme = readFileSync(README, 'utf8');
    for (const [file, d] of dashboards) {
      expect(readme).toContain(`\`${file}\``);
      for (const p of d.panels) expect(readme, `${file}: ${p.title}`).toContain(`**${p.title}**`);
    }
  });

  it.each([...dashboards])('%s: current schema, tags, links and a templated datasource', (_file, d) => {
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(d.tags).toContain('etcd-monitor');
    expect(d.description?.length).toBeGreaterThan(20);
    expect(d.links.some((l) => l.type === 'dashboards' && l.tags?.includes('etcd-monitor'))).toBe(true);
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(hasVar(d, 'cluster')).toBe(true);
    for (const p of d.panels) {
      expect(p.datasource?.uid, p.title).toBe(p.type === 'row' ? undefined : '${datasource}');
      for (const t of p.targets ?? [])
        expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
    }
    for (const a of d.annotations.list.filter((x) => x.expr)) expect(a.datasource?.uid).toBe('${datasource}');
  });

  it.each([...dashboards])('%s: unique ids, grid inside 24 columns and no overlapping panels', (_file, d) => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) {
      expect(p.gridPos.x).toBeGreaterThanOrEqual(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    for (const [i, a] of d.panels.entries()) {
      for (const b of d.panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it.each([...dashboards])(
    '%s: every panel has a description, a unit, thresholds and a query',
    (_file, d) => {
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        expect(CORE_PANEL_TYPES.has(p.type), `${p.title}: ${p.type}`).toBe(true);
        expect(p.description?.length ?? 0, p.title).toBeGreaterThan(20);
        expect(p.fieldConfig?.defaults?.unit, p.title).toBeTruthy();
        expect(p.fieldConfig?.defaults?.thresholds?.steps?.length, p.title).toBeGreaterThan(0);
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
      }
    },
  );

  it.each([...dashboards])('%s: names only series that etcd 3.4–3.6 or the exporter exports', (_file, d) => {
    const problems: string[] = [];
    const variableQueries = d.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => ({
        where: `${d.uid} / $${v.name}`,
        expr: /^label_values\((.*),\s*\w+\)$/.exec(v.definition ?? '')?.[1] ?? '',
      }));
    for (const { where, expr } of [...expressions(d), ...variableQueries]) {
      const found = selectors(expr);
      if (found.length === 0) problems.push(`${where}: no selector found in ${expr}`);
      for (const s of found) {
        const origin = classify(s.metric, exporter);
        if (origin.kind === 'unknown') problems.push(`${where}: ${s.metric}: ${origin.why}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each([...dashboards])(
    '%s: every query is filtered by $cluster, and by $member where the series has members',
    (_file, d) => {
      const problems: string[] = [];
      const memberVar = hasVar(d, 'member');
      for (const { where, expr } of expressions(d)) {
        for (const s of selectors(expr)) {
          const origin = classify(s.metric, exporter);
          const cluster = s.matchers.find((m) => m.label === 'cluster');
          const member = s.matchers.find((m) => m.label === 'member');
          const perCluster =
            origin.kind === 'etcd' ||
            (origin.kind === 'exporter' && origin.labels.includes('cluster')) ||
            s.metric === 'ALERTS';
          if (perCluster) {
            if (!cluster || !/^\$cluster$/.test(cluster.value) || !['=', '=~'].includes(cluster.op)) {
              problems.push(`${where}: ${s.metric} is not filtered by cluster`);
            }
          } else if (!CLUSTER_FILTER.test(expr)) {
            problems.push(
              `${where}: ${s.metric} has no cluster label and is not joined to the chosen cluster`,
            );
          }
          const hasMember =
            origin.kind === 'etcd' || (origin.kind === 'exporter' && origin.labels.includes('member'));
          if (memberVar && hasMember && (member?.op !== '=~' || member.value !== '$member')) {
            problems.push(`${where}: ${s.metric} is not filtered by member`);
          }
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('links between dashboards point at bundled uids', () => {
    const text = [...dashboards.values()].map((d) => JSON.stringify(d)).join('\n');
    const linked = [...text.matchAll(/\/d\/([a-z0-9-]+)\//g)].map((m) => m[1]);
    expect(linked.length).toBeGreaterThan(0);
    for (const uid of linked) expect(Object.values(UID)).toContain(uid);
  });
});

describe('selector extraction (used by the checks above)', () => {
  it('finds metrics and matchers, skipping functions, grouping labels, strings and ranges', () => {
    const expr =
      'histogram_quantile(0.99, sum by (member, le) (rate(x_bucket{cluster="$cluster", member=~"$member"}[$__rate_interval]))) ' +
      '/ on (cluster) group_left (leader) label_replace(y{a!="b"} == 1, "leader", "$1", "member", "(.*)") and z';
    expect(selectors(expr)).toEqual([
      {
        metric: 'x_bucket',
        matchers: [
          { label: 'cluster', op: '=', value: '$cluster' },
          { label: 'member', op: '=~', value: '$member' },
        ],
      },
      { metric: 'y', matchers: [{ label: 'a', op: '!=', value: 'b' }] },
      { metric: 'z', matchers: [] },
    ]);
  });

  it('classifies a series etcd dropped in 3.5 as unknown', async () => {
    const families = await exporterFamilies();
    expect(classify('etcd_debugging_mvcc_db_total_size_in_bytes', families)).toMatchObject({
      kind: 'unknown',
    });
    expect(classify('grpc_server_handling_seconds_bucket', families)).toMatchObject({ kind: 'unknown' });
    expect(classify('go_goroutines', families)).toMatchObject({ kind: 'unknown' });
    expect(classify('etcd_mvcc_db_total_size_in_bytes', families)).toEqual({ kind: 'etcd' });
    expect(classify('etcd_monitor_probe_duration_seconds_bucket', families)).toMatchObject({
      kind: 'exporter',
    });
  });
});
