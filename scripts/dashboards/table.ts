import { mappingsJson } from './field-config.js';
import type { PanelSpec, TableColumn } from './spec.js';
import { valueField } from './targets.js';

type Json = Record<string, unknown>;

/** The data-frame field a column setting applies to: the label itself, or the named target's value field. */
function field(p: PanelSpec, col: TableColumn): string {
  return col.label ?? valueField(p, col.value as string);
}

function checkColumns(p: PanelSpec): void {
  const seen = new Set<string>();
  for (const col of p.columns ?? []) {
    const key = col.label !== undefined ? `label ${col.label}` : `value of ${col.value}`;
    if (seen.has(key)) throw new Error(`panel "${p.title}": the ${key} has two column settings`);
    seen.add(key);
    if (col.hidden && (col.header || col.unit || col.link || col.mappings)) {
      throw new Error(`panel "${p.title}": the hidden ${key} has settings that would never show`);
    }
  }
}

/**
 * Field overrides and transformations of a table: the queries' frames are merged into one table, time
 * columns and hidden columns dropped, headers renamed, and units, links and value mappings attached.
 */
export function tableParts(p: PanelSpec): { overrides: Json[]; transformations: Json[] } {
  checkColumns(p);
  const columns = p.columns ?? [];
  const overrides: Json[] = [];
  const renameByName: Record<string, string> = {};
  const excludeByName: Record<string, boolean> = { Time: true };
  // Grafana names the time column of the n-th merged frame "Time n"; hide them whichever naming applies.
  for (let i = 1; i <= p.targets.length; i++) excludeByName[`Time ${i}`] = true;
  for (const col of columns) if (col.hidden) excludeByName[field(p, col)] = true;
  for (const col of columns) {
    const name = field(p, col);
    if (col.header) renameByName[name] = col.header;
    const properties: Json[] = [];
    if (col.unit) properties.push({ id: 'unit', value: col.unit });
    if (col.link) properties.push({ id: 'links', value: [{ title: col.link.title, url: col.link.url }] });
    if (col.mappings) properties.push({ id: 'mappings', value: mappingsJson(col.mappings) });
    // Not verified against a running Grafana here: a byName matcher may see the field name before or after
    // `organize` renames it, so match both and the units, mappings and links apply either way.
    for (const matched of new Set([name, col.header ?? name])) {
      if (properties.length > 0) overrides.push({ matcher: { id: 'byName', options: matched }, properties });
    }
  }
  const transformations: Json[] = [];
  if (p.targets.length > 1) transformations.push({ id: 'merge', options: {} });
  transformations.push({ id: 'organize', options: { excludeByName, renameByName, indexByName: {} } });
  return { overrides, transformations };
}
