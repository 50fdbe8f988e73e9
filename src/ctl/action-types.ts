import type { Table } from './format.js';
import type { EtcdOperations } from './operations.js';

/**
 * What a subcommand produced: `data` is the project's JSON (`--output json`); `table` the table (`--output
 * table`, boxed for `-w table`); `simple`, `json` and `fields` etcdctl's `-w` forms where etcdctl has them.
 * `exitCode` flags a negative answer.
 */
export interface Outcome {
  readonly data?: unknown;
  readonly table?: Table | string;
  readonly simple?: string;
  /** etcdctl's JSON document, written by toJson (64-bit numbers exact). */
  readonly json?: unknown;
  readonly fields?: string;
  readonly exitCode?: number;
}

/** Subcommands that have etcdctl's `-w fields` form; the others refuse it before doing anything. */
export const FIELDS_ACTIONS: ReadonlySet<string> = new Set([
  'get',
  'put',
  'del',
  'member-list',
  'endpoint-status',
  'lease-timetolive',
  'snapshot-status',
]);

/** Where a subcommand writes and how it is interrupted (SIGINT for the process, an AbortSignal in tests). */
export interface CtlIo {
  write(text: string): void;
  writeErr(text: string): void;
  readonly signal?: AbortSignal;
  readStdin?(): Promise<string>;
}

export type Args = Record<string, unknown>;
export type Action = (ops: EtcdOperations, a: Args, io: CtlIo) => Promise<Outcome>;

export const s = (a: Args, k: string): string | undefined => (a[k] === undefined ? undefined : String(a[k]));
export const n = (a: Args, k: string): number | undefined => (a[k] === undefined ? undefined : Number(a[k]));
export const b = (a: Args, k: string): boolean => a[k] === true;
