/**
 * The shape of a dashboard spec: what each dashboard file in this folder declares and render.ts turns into
 * Grafana JSON. Positions, ids, refIds and table field names are never written by hand; the renderer
 * derives them, so reordering or inserting a panel or a query cannot silently change another one.
 */

export interface Target {
  /**
   * What the query shows, unique within its panel. Required in tables: a table's columns refer to their
   * query by this name, and the renderer turns it into the field Grafana names after the query's refId.
   */
  name?: string;
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

/**
 * Settings of one table column: a label of the query results (`label`), or the value of the target with
 * that name (`value`). The list order is the order the settings appear in the JSON, not the column order
 * (Grafana keeps the order of the merged frames).
 */
export type TableColumn = ({ label: string; value?: never } | { value: string; label?: never }) & {
  /** Column header; the field is renamed to it by Grafana's organize transform. */
  header?: string;
  unit?: string;
  link?: { title: string; url: string };
  mappings?: ValueMap[];
  /** Left out of the table, e.g. the constant 1 of an info series whose labels are the columns. */
  hidden?: boolean;
};

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
  /** Table only: headers, units, links, value mappings and hidden columns. */
  columns?: TableColumn[];
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
