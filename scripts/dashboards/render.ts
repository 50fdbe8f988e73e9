/**
 * A small dashboard builder: panel specs in, Grafana 10+ dashboard JSON (schemaVersion 39) out.
 * Layout, datasource wiring, variables and links are decided here once so the five dashboards stay consistent.
 */

/** Every query goes through the templated datasource so an imported dashboard never pins a datasource uid. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** Grafana's dashboard schema version the JSON is written in (Grafana 10.4 / 11.x read it as current). */
export const SCHEMA_VERSION = 39;

/** Tag shared by every dashboard; the dashboard links menu lists dashboards by this tag. */
export const PRODUCT_TAG = 'etcd-monitor';

export interface Target {
  expr: string;
  legend?: string;
  /** Instant query in table format (for tables and "current value" stats). */
  table?: boolean;
  /** Why this query legitimately returns nothing on a healthy cluster; the query test then accepts empty. */
  emptyWhenHealthy?: string;
}

export type Threshold = [value: number | null, color: string];

export interface ValueMap {
  value: number;
  text: string;
  color: string;
}

export interface PanelSpec {
  kind: 'stat' | 'timeseries' | 'table' | 'gauge' | 'bargauge';
  title: string;
  description: string;
  targets: Target[];
  w: number;
  h: number;
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: Threshold[];
  mappings?: ValueMap[];
  /** Stat text mode: show the series name (e.g. the leader's member name) instead of the value. */
  textMode?: 'auto' | 'value' | 'name' | 'value_and_name';
  stack?: boolean;
  /** Table only: column renames by field name, hidden fields, and per-column units/links. */
  columns?: Record<
    string,
    { rename?: string; unit?: string; link?: { title: string; url: string }; mappings?: ValueMap[] }
  >;
  hide?: string[];
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface VariableSpec {
  name: 'cluster' | 'member';
  label: string;
  /** `label_values(...)` query run against the datasource. */
  query: string;
  multi: boolean;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  /** One line for the README's table. */
  summary: string;
  description: string;
  tags: string[];
  variables: VariableSpec[];
  rows: RowSpec[];
  annotations?: Array<{ name: string; expr: string; color: string; emptyWhenHealthy: string }>;
  refresh?: string;
  timeFrom?: string;
}

type Json = Record<string, unknown>;

const GRID_WIDTH = 24;

function thresholds(steps: Threshold[] | undefined): Json {
  const list = steps ?? [[null, 'green']];
  return { mode: 'absolute', steps: list.map(([value, color]) => ({ color, value })) };
}

function mappings(maps: ValueMap[] | undefined): Json[] {
  if (!maps || maps.length === 0) return [];
  const options: Json = {};
  maps.forEach((m, index) => {
    options[String(m.value)] = { text: m.text, color: m.color, index };
  });
  return [{ type: 'value', options }];
}

function target(t: Target, index: number): Json {
  return {
    datasource: DATASOURCE,
    editorMode: 'code',
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    refId: String.fromCharCode(65 + index),
    range: !t.table,
    instant: Boolean(t.table),
    format: t.table ? 'table' : 'time_series',
  };
}

function options(p: PanelSpec): Json {
  const reduce = { calcs: ['lastNotNull'], fields: '', values: false };
  switch (p.kind) {
    case 'stat':
      return {
        reduceOptions: reduce,
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: p.textMode ?? 'auto',
        wideLayout: true,
        showPercentChange: false,
      };
    case 'gauge':
      return {
        reduceOptions: reduce,
        showThresholdLabels: false,
        showThresholdMarkers: true,
        orientation: 'auto',
      };
    case 'bargauge':
      return {
        reduceOptions: reduce,
        displayMode: 'gradient',
        orientation: 'horizontal',
        showUnfilled: true,
        valueMode: 'color',
        namePlacement: 'auto',
        sizing: 'auto',
      };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
    case 'timeseries':
      return {
        legend: {
          displayMode: 'table',
          placement: 'bottom',
          showLegend: true,
          calcs: ['lastNotNull', 'max'],
        },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
  }
}

function timeseriesCustom(p: PanelSpec): Json {
  return {
    drawStyle: 'line',
    lineInterpolation: 'linear',
    lineWidth: 1,
    fillOpacity: p.stack ? 30 : 10,
    gradientMode: 'none',
    showPoints: 'never',
    pointSize: 4,
    spanNulls: false,
    axisPlacement: 'auto',
    axisLabel: '',
    scaleDistribution: { type: 'linear' },
    stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
    thresholdsStyle: { mode: p.thresholds && p.thresholds.length > 1 ? 'line' : 'off' },
  };
}

function tableParts(p: PanelSpec): { overrides: Json[]; transformations: Json[] } {
  const overrides: Json[] = [];
  const renameByName: Record<string, string> = {};
  const excludeByName: Record<string, boolean> = { Time: true };
  // Grafana names the time column of the n-th merged frame "Time n"; hide them whichever naming applies.
  for (let i = 1; i <= p.targets.length; i++) excludeByName[`Time ${i}`] = true;
  for (const name of p.hide ?? []) excludeByName[name] = true;
  for (const [field, col] of Object.entries(p.columns ?? {})) {
    if (col.rename) renameByName[field] = col.rename;
    const properties: Json[] = [];
    if (col.unit) properties.push({ id: 'unit', value: col.unit });
    if (col.link) properties.push({ id: 'links', value: [{ title: col.link.title, url: col.link.url }] });
    if (col.mappings) properties.push({ id: 'mappings', value: mappings(col.mappings) });
    // Not verified against a running Grafana here: a byName matcher may see the field name before or after
    // `organize` renames it, so match both and the units, mappings and links apply either way.
    for (const name of new Set([field, col.rename ?? field])) {
      if (properties.length > 0) overrides.push({ matcher: { id: 'byName', options: name }, properties });
    }
  }
  const transformations: Json[] = [];
  if (p.targets.length > 1) transformations.push({ id: 'merge', options: {} });
  transformations.push({ id: 'organize', options: { excludeByName, renameByName, indexByName: {} } });
  return { overrides, transformations };
}

function panel(p: PanelSpec, id: number, gridPos: Json): Json {
  const table = p.kind === 'table' ? tableParts(p) : { overrides: [], transformations: [] };
  const defaults: Json = {
    unit: p.unit ?? 'short',
    thresholds: thresholds(p.thresholds),
    mappings: mappings(p.mappings),
    color: { mode: p.kind === 'timeseries' ? 'palette-classic' : 'thresholds' },
  };
  if (p.decimals !== undefined) defaults.decimals = p.decimals;
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.kind === 'timeseries') defaults.custom = timeseriesCustom(p);
  if (p.kind === 'table')
    defaults.custom = { align: 'auto', cellOptions: { type: 'color-text' }, inspect: false };
  const reasons = p.targets.filter((t) => t.emptyWhenHealthy).map((t) => t.emptyWhenHealthy);
  const description =
    reasons.length > 0 ? `${p.description} Can be empty: ${reasons.join('; ')}.` : p.description;
  return {
    id,
    type: p.kind,
    title: p.title,
    description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults, overrides: table.overrides },
    options: options(p),
    targets: p.targets.map(target),
    transformations: table.transformations,
  };
}

function variable(v: VariableSpec): Json {
  return {
    type: 'query',
    name: v.name,
    label: v.label,
    datasource: DATASOURCE,
    definition: v.query,
    // The classic string form: every Grafana 10/11 release parses it (the newer object form depends on the
    // version's query-editor fields).
    query: v.query,
    refresh: 2,
    sort: 1,
    regex: '',
    multi: v.multi,
    includeAll: v.multi,
    // With "All" the matcher becomes =~".*", so new members appear without editing the dashboard.
    ...(v.multi ? { allValue: '.*', current: { selected: true, text: ['All'], value: ['$__all'] } } : {}),
    options: [],
    hide: 0,
    skipUrlSync: false,
  };
}

/** Assigns ids and grid positions (rows of 24 columns, panels flowing left to right) and renders the JSON. */
export function renderDashboard(spec: DashboardSpec): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: GRID_WIDTH, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const p of row.panels) {
      if (p.w > GRID_WIDTH) throw new Error(`${spec.uid}: panel "${p.title}" is wider than the grid`);
      if (x + p.w > GRID_WIDTH) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      panels.push(panel(p, id++, { h: p.h, w: p.w, x, y }));
      x += p.w;
      lineHeight = Math.max(lineHeight, p.h);
    }
    y += lineHeight;
  }
  return {
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
    ],
    annotations: { list: annotations(spec) },
    description: spec.description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [
      {
        title: 'etcd-monitor dashboards',
        type: 'dashboards',
        tags: [PRODUCT_TAG],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
        icon: 'external link',
        targetBlank: false,
        tooltip: '',
        url: '',
      },
    ],
    liveNow: false,
    panels,
    refresh: spec.refresh ?? '30s',
    schemaVersion: SCHEMA_VERSION,
    tags: [PRODUCT_TAG, ...spec.tags],
    templating: {
      list: [
        {
          type: 'datasource',
          name: 'datasource',
          label: 'Data source',
          query: 'prometheus',
          current: {},
          regex: '',
          hide: 0,
          refresh: 1,
          options: [],
          skipUrlSync: false,
        },
        ...spec.variables.map(variable),
      ],
    },
    time: { from: spec.timeFrom ?? 'now-1h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: spec.title,
    uid: spec.uid,
    version: 1,
    weekStart: '',
  };
}

function annotations(spec: DashboardSpec): Json[] {
  return [
    {
      builtIn: 1,
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
      name: 'Annotations & Alerts',
      type: 'dashboard',
    },
    ...(spec.annotations ?? []).map((a) => ({
      datasource: DATASOURCE,
      enable: true,
      expr: a.expr,
      iconColor: a.color,
      name: a.name,
      step: '30s',
      titleFormat: a.name,
      useValueForTime: false,
    })),
  ];
}

/** Grafana URL of another bundled dashboard that keeps the time range and datasource. */
export function dashboardUrl(uid: string, vars: string): string {
  return `/d/${uid}/${uid}?\${datasource:queryparam}&\${__url_time_range}&${vars}`;
}
