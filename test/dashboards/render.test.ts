import { describe, expect, it } from 'vitest';
import { renderDashboard } from '../../scripts/dashboards/render.js';
import type { PanelSpec, TableColumn, Target } from '../../scripts/dashboards/spec.js';
import { loadDashboards } from './dashboard-files.js';

// The renderer derives refIds and table field names from target names, so a table's columns do not depend
// on the position of their query. Pure: specs in, JSON out, no Prometheus.

interface RenderedTarget {
  refId: string;
  expr: string;
}
interface RenderedPanel {
  title: string;
  targets: RenderedTarget[];
  fieldConfig: {
    overrides: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }>;
  };
  transformations: Array<{
    id: string;
    options: { excludeByName?: Record<string, boolean>; renameByName?: Record<string, string> };
  }>;
}

function render(panel: PanelSpec): RenderedPanel {
  const json = renderDashboard({
    uid: 'test',
    title: 'Test',
    summary: 'test',
    description: 'A dashboard rendered by the test.',
    tags: [],
    variables: [],
    rows: [{ title: 'Row', panels: [panel] }],
  }) as { panels: RenderedPanel[] };
  return json.panels[1] as RenderedPanel;
}

const table = (targets: Target[], columns: TableColumn[]): PanelSpec => ({
  kind: 'table',
  title: 'Members',
  description: 'One row per member.',
  w: 24,
  h: 8,
  targets,
  columns,
});

const up: Target = { name: 'up', expr: 'max by (member) (up_metric)', table: true };
const size: Target = { name: 'size', expr: 'max by (member) (size_metric)', table: true };
const lag: Target = { name: 'lag', expr: 'max by (member) (lag_metric)', table: true };
const info: Target = { name: 'info', expr: 'max by (member, version) (info_metric)', table: true };
const COLUMNS: TableColumn[] = [
  { label: 'member', header: 'Member' },
  { value: 'up', header: 'Up', mappings: [{ value: 1, text: 'Yes', color: 'green' }] },
  { value: 'size', header: 'DB size', unit: 'bytes' },
];

/**
 * What the rendered table shows for each query, found the way Grafana finds it: by the query's field.
 * Overrides match a column by field name and by header (see table.ts), so each appears twice; count once.
 */
function columnsByQuery(
  panel: RenderedPanel,
): Map<string, { header?: string; hidden: boolean; props: string }> {
  const organize = panel.transformations.find((t) => t.id === 'organize')?.options ?? {};
  const out = new Map<string, { header?: string; hidden: boolean; props: string }>();
  for (const t of panel.targets) {
    const field = panel.targets.length === 1 ? 'Value' : `Value #${t.refId}`;
    const header = organize.renameByName?.[field];
    const props = panel.fieldConfig.overrides
      .filter((o) => o.matcher.options === field || o.matcher.options === header)
      .map((o) => JSON.stringify(o.properties));
    out.set(t.expr, {
      header,
      hidden: organize.excludeByName?.[field] === true,
      props: [...new Set(props)].join('|'),
    });
  }
  return out;
}

describe('dashboard renderer: targets by name', () => {
  it('assigns refIds A, B, C … in target order', () => {
    const panel = render(table([up, size, lag], COLUMNS));
    expect(panel.targets.map((t) => [t.refId, t.expr])).toEqual([
      ['A', up.expr],
      ['B', size.expr],
      ['C', lag.expr],
    ]);
  });

  it('keys each column by its target name: inserting a target between two keeps the others’ columns', () => {
    const before = columnsByQuery(render(table([up, size], COLUMNS)));
    const after = columnsByQuery(
      render(table([up, lag, size], [...COLUMNS, { value: 'lag', header: 'Apply lag', unit: 'none' }])),
    );
    expect(before.get(size.expr)).toEqual({
      header: 'DB size',
      hidden: false,
      props: JSON.stringify([{ id: 'unit', value: 'bytes' }]),
    });
    for (const t of [up, size]) expect(after.get(t.expr), t.name).toEqual(before.get(t.expr));
    expect(after.get(lag.expr)).toMatchObject({ header: 'Apply lag', hidden: false });
  });

  it('hides a column by name wherever its target sits', () => {
    const hiddenInfo: TableColumn[] = [{ value: 'info', hidden: true }, ...COLUMNS];
    for (const targets of [
      [up, info, size],
      [info, up, size],
      [up, size, info],
    ]) {
      const shown = columnsByQuery(render(table(targets, hiddenInfo)));
      expect(shown.get(info.expr)?.hidden).toBe(true);
      expect(shown.get(up.expr)).toMatchObject({ header: 'Up', hidden: false });
      expect(shown.get(size.expr)).toMatchObject({ header: 'DB size', hidden: false });
    }
  });

  it('names the value field of a one-query table "Value" (no refId suffix), as Grafana does', () => {
    const panel = render(table([size], [{ value: 'size', header: 'DB size', unit: 'bytes' }]));
    const organize = panel.transformations.find((t) => t.id === 'organize')?.options;
    expect(organize?.renameByName).toEqual({ Value: 'DB size' });
    expect(panel.transformations.map((t) => t.id)).toEqual(['organize']);
    expect(columnsByQuery(panel).get(size.expr)?.header).toBe('DB size');
  });

  it('refuses two targets with the same name in one panel (table or not)', () => {
    expect(() => render(table([up, { ...size, name: 'up' }], COLUMNS))).toThrow(
      'panel "Members": two targets are named "up"',
    );
    const chart: PanelSpec = {
      kind: 'timeseries',
      title: 'Sizes',
      description: 'Database sizes.',
      w: 12,
      h: 8,
      targets: [
        { name: 'size', expr: 'a' },
        { name: 'size', expr: 'b' },
      ],
    };
    expect(() => render(chart)).toThrow('two targets are named "size"');
    expect(() => render({ ...chart, targets: [{ expr: 'a' }, { expr: 'b' }] })).not.toThrow();
  });

  it('refuses a table target without a name and a column naming no target', () => {
    expect(() => render(table([up, { expr: 'max by (member) (x)', table: true }], COLUMNS))).toThrow(
      'has no name for its column',
    );
    expect(() => render(table([up], [{ value: 'size', header: 'DB size' }]))).toThrow(
      'no target named "size"',
    );
  });

  it('refuses two settings for one column, settings on a hidden column, and columns outside a table', () => {
    expect(() => render(table([up, size], [...COLUMNS, { value: 'up', unit: 'none' }]))).toThrow(
      'two column settings',
    );
    expect(() => render(table([up, size], [{ value: 'size', hidden: true, unit: 'bytes' }]))).toThrow(
      'would never show',
    );
    expect(() => render({ ...table([up], []), kind: 'stat' })).toThrow('only tables have columns');
  });
});

describe('committed dashboards', () => {
  it('every "Value #X" field a table names belongs to one of its queries', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [file, d] of loadDashboards()) {
      for (const p of d.panels as unknown as RenderedPanel[]) {
        if (!p.transformations) continue;
        const refIds = new Set(p.targets.map((t) => t.refId));
        const fields = [
          ...p.fieldConfig.overrides.map((o) => o.matcher.options),
          ...p.transformations.flatMap((t) => [
            ...Object.keys(t.options.excludeByName ?? {}),
            ...Object.keys(t.options.renameByName ?? {}),
          ]),
        ];
        for (const field of fields) {
          const ref = /^Value #(.+)$/.exec(field)?.[1];
          if (ref !== undefined) {
            checked++;
            if (!refIds.has(ref)) problems.push(`${file} / ${p.title}: ${field}`);
          }
          if (field === 'Value' && p.targets.length !== 1)
            problems.push(`${file} / ${p.title}: "Value" with several queries`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The overview's member table, the all-clusters table and the exporter's collector table.
    expect(checked).toBeGreaterThan(30);
  });
});
