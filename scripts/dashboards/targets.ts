import type { PanelSpec } from './spec.js';

/** Every query goes through the templated datasource so an imported dashboard never pins a datasource uid. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

type Json = Record<string, unknown>;

/** Grafana's query ids are single letters; 26 queries is far beyond any panel here (the largest has 13). */
const MAX_TARGETS = 26;

/**
 * The refId of each target, by its position (A, B, …), checked so that names can stand in for them:
 * names are unique within the panel, and every target of a table has one.
 */
export function refIds(p: PanelSpec): string[] {
  if (p.targets.length > MAX_TARGETS) throw new Error(`panel "${p.title}": more than ${MAX_TARGETS} targets`);
  const seen = new Set<string>();
  return p.targets.map((t, index) => {
    if (t.name !== undefined) {
      if (seen.has(t.name)) throw new Error(`panel "${p.title}": two targets are named "${t.name}"`);
      seen.add(t.name);
    } else if (p.kind === 'table') {
      throw new Error(`panel "${p.title}": table target ${t.expr} has no name for its column`);
    }
    return String.fromCharCode(65 + index);
  });
}

/**
 * The field Grafana gives the value of the named target in a table: "Value" when the panel has one query,
 * "Value #<refId>" when it has several (Prometheus data source, instant queries in table format).
 */
export function valueField(p: PanelSpec, name: string): string {
  const index = p.targets.findIndex((t) => t.name === name);
  if (index < 0) throw new Error(`panel "${p.title}": no target named "${name}"`);
  return p.targets.length === 1 ? 'Value' : `Value #${refIds(p)[index]}`;
}

/** The panel's `targets` JSON. */
export function targetsJson(p: PanelSpec): Json[] {
  const ids = refIds(p);
  return p.targets.map((t, index) => ({
    datasource: DATASOURCE,
    editorMode: 'code',
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    refId: ids[index],
    range: !t.table,
    instant: Boolean(t.table),
    format: t.table ? 'table' : 'time_series',
  }));
}
