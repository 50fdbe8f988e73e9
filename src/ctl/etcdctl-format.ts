// etcdctl's output formats (`-w simple|json|fields|table`), reproduced from etcdctl 3.4/3.5's printers
// (etcdctl/ctlv3/command/printer_*.go) and checked against a real etcdctl in test/ctl/write-out.test.ts.
import type { IKeyValue } from 'etcd3';
import type { Table } from './format.js';
import type { RawHeader } from './kv.js';

export const WRITE_OUT = ['simple', 'json', 'fields', 'table'] as const;
export type WriteOut = (typeof WRITE_OUT)[number];

/** A 64-bit number as etcd sends it (decimal string) or a small one; JSON needs it unquoted and exact. */
export type U64 = string | number | bigint;

/** Marks a value to be written as a bare JSON number (uint64 IDs exceed a double's 53 bits). */
export class JsonNumber {
  constructor(readonly digits: string) {}
}
export const num = (v: U64): JsonNumber => new JsonNumber(BigInt(v).toString(10));
/** A hex ID as etcdctl's JSON prints it: the decimal number. */
export const hexNum = (hex: string): JsonNumber => new JsonNumber(BigInt(`0x${hex}`).toString(10));

/** JSON.stringify on one line, writing JsonNumber as bare digits and leaving out undefined. */
export function toJson(v: unknown): string {
  if (v instanceof JsonNumber) return v.digits;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const parts = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v);
}

const nonZero = (v: U64 | undefined): JsonNumber | undefined =>
  v === undefined || BigInt(v) === 0n ? undefined : num(v);

/** The response header as etcd's JSON marshaller writes it: zero fields are left out. */
export function jsonHeader(h: RawHeader): Record<string, JsonNumber | undefined> {
  return {
    cluster_id: nonZero(h.cluster_id),
    member_id: nonZero(h.member_id),
    revision: nonZero(h.revision),
    raft_term: nonZero(h.raft_term),
  };
}

/** mvccpb.KeyValue in JSON: bytes in base64, zero fields left out. */
export function jsonKv(kv: IKeyValue): Record<string, unknown> {
  return {
    key: kv.key.toString('base64'),
    create_revision: nonZero(kv.create_revision),
    mod_revision: nonZero(kv.mod_revision),
    version: nonZero(kv.version),
    value: kv.value.length > 0 ? kv.value.toString('base64') : undefined,
    lease: nonZero(kv.lease || '0'),
  };
}

/** `"Name" : value` lines of `-w fields`; strings quoted as Go's %q does for printable text. */
export type FieldValue = string | number | boolean | string[] | JsonNumber;

export function fields(pairs: readonly (readonly [string, FieldValue])[]): string {
  return pairs
    .map(([k, v]) => {
      const shown =
        v instanceof JsonNumber
          ? v.digits
          : typeof v === 'string'
            ? JSON.stringify(v)
            : Array.isArray(v)
              ? `[${v.join(' ')}]`
              : String(v);
      return `"${k}" : ${shown}\n`;
    })
    .join('');
}

export function headerFields(h: RawHeader): [string, FieldValue][] {
  return [
    ['ClusterID', num(h.cluster_id)],
    ['MemberID', num(h.member_id)],
    ['Revision', num(h.revision)],
    ['RaftTerm', num(h.raft_term)],
  ];
}

export function kvFields(kv: IKeyValue): [string, FieldValue][] {
  return [
    ['Key', kv.key.toString('utf8')],
    ['CreateRevision', num(kv.create_revision)],
    ['ModRevision', num(kv.mod_revision)],
    ['Version', num(kv.version)],
    ['Value', kv.value.toString('utf8')],
    ['Lease', num(kv.lease || '0')],
  ];
}

/** etcdctl's simple form of one key-value: the key line (unless value-only) and the value line. */
export function simpleKv(kv: IKeyValue, valueOnly = false): string {
  return `${valueOnly ? '' : `${kv.key.toString('utf8')}\n`}${kv.value.toString('utf8')}\n`;
}

/** etcdctl's `-w table`: box drawing, headers centred, cells right-aligned (tablewriter, ALIGN_RIGHT). */
export function boxTable(t: Table): string {
  const cells = t.rows.map((r) => r.map((c) => String(c)));
  const widths = t.headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const centre = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return `${' '.repeat(left)}${s}${' '.repeat(w - s.length - left)}`;
  };
  const head = `| ${t.headers.map((h, i) => centre(h.toUpperCase(), widths[i] ?? 0)).join(' | ')} |\n`;
  const body = cells
    .map((r) => `| ${widths.map((w, i) => (r[i] ?? '').padStart(w)).join(' | ')} |\n`)
    .join('');
  return `${rule}${head}${rule}${body}${rule}`;
}

/** go-humanize's Bytes (etcdctl's DB size): SI units, one decimal below 10, none above ("20 kB", "2.1 MB"). */
export function goHumanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1000)), units.length - 1);
  const v = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  if (v < 10) return `${v.toFixed(1)} ${units[e]}`;
  // Go's %.0f rounds half to even (20.5 -> "20"); toFixed would give "21".
  const whole = Math.floor(v);
  const rounded = v - whole === 0.5 ? (whole % 2 === 0 ? whole : whole + 1) : Math.round(v);
  return `${rounded} ${units[e]}`;
}
