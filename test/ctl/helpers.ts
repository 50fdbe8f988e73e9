import { expect } from 'vitest';
import { runCtl, type CtlRun } from '../../src/ctl/commands.js';

/** Runs `etcd-monitor ctl` in-process against `endpoints` with JSON output. */
export async function ctl(endpoints: readonly string[], ...args: string[]): Promise<CtlRun> {
  return runCtl([
    '--endpoints',
    endpoints.join(','),
    '--output',
    'json',
    '--command-timeout',
    '10s',
    ...args,
  ]);
}

/** Runs ctl, expects exit 0 and returns the parsed JSON it printed. */
export async function ctlJson<T = Record<string, unknown>>(
  endpoints: readonly string[],
  ...args: string[]
): Promise<T> {
  const run = await ctl(endpoints, ...args);
  expect(run.code, `ctl ${args.join(' ')} failed: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** The `{error: {code, message}}` a failed ctl run printed on stderr in JSON mode. */
export function ctlError(run: CtlRun): { code: string; message: string; details?: unknown } {
  const line = run.stderr.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { error: { code: string; message: string; details?: unknown } }).error;
}
