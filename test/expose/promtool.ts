import { spawnSync } from 'node:child_process';

/** Result of `promtool check metrics` on some exposition text. */
export interface PromtoolResult {
  readonly status: number | null;
  readonly output: string;
}

/**
 * Pipes exposition text into the real `promtool check metrics` (its lint rules are Prometheus' own).
 * Throws when promtool cannot be run, so a missing binary fails the test instead of skipping it.
 */
export function promtoolCheckMetrics(text: string): PromtoolResult {
  const result = spawnSync(process.env.PROMTOOL_BIN ?? 'promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) {
    throw new Error(
      `cannot run promtool (install the Debian package "prometheus" via scripts/install-deps.sh): ${result.error.message}`,
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
