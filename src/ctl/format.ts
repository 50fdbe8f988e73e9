/** A result rendered as a table: column headers plus one row of cells per item. */
export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly (string | number | boolean)[])[];
}

/** Renders a table with aligned columns (etcdctl's "-w table" without box drawing). */
export function renderTable(t: Table): string {
  const cells = [t.headers, ...t.rows].map((r) => r.map((c) => String(c)));
  const widths = t.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${cells.map(line).join('\n')}\n`;
}

/** Human-readable byte counts for DB sizes, like etcdctl's "25 kB". */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
