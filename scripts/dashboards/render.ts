/**
 * Renders a dashboard spec (spec.ts) as Grafana 10+ dashboard JSON (schemaVersion 39). Layout, ids,
 * datasource wiring, variables and links are decided here once so the five dashboards stay consistent;
 * queries and table columns are rendered by targets.ts and table.ts.
 */
import { mappingsJson, thresholdsJson } from './field-config.js';
import type { DashboardSpec, PanelSpec, VariableSpec } from './spec.js';
import { tableParts } from './table.js';
import { DATASOURCE, targetsJson } from './targets.js';

/** Grafana's dashboard schema version the JSON is written in (Grafana 10.4 / 11.x read it as current). */
export const SCHEMA_VERSION = 39;

/** Tag shared by every dashboard; the dashboard links menu lists dashboards by this tag. */
export const PRODUCT_TAG = 'etcd-monitor';

type Json = Record<string, unknown>;

const GRID_WIDTH = 24;

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

function panel(p: PanelSpec, id: number, gridPos: Json): Json {
  if (p.columns && p.kind !== 'table') throw new Error(`panel "${p.title}": only tables have columns`);
  const table = p.kind === 'table' ? tableParts(p) : { overrides: [], transformations: [] };
  const defaults: Json = {
    unit: p.unit ?? 'short',
    thresholds: thresholdsJson(p.thresholds),
    mappings: mappingsJson(p.mappings),
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
    targets: targetsJson(p),
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
