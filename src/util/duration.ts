const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses Go/Prometheus-style durations ("500ms", "5s", "1m30s", "1h") into milliseconds.
 * A bare number is taken as seconds, as etcdctl does for --dial-timeout.
 */
export function parseDurationMs(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`not a valid duration: ${input}`);
    return input * 1000;
  }
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (!parts || parts.join('') !== text) {
    throw new Error(`not a valid duration: "${input}" (use e.g. 500ms, 5s, 1m, 1h)`);
  }
  let total = 0;
  for (const part of parts) {
    const [, value, unit] = part.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)$/) as RegExpMatchArray;
    total += Number(value) * (UNIT_MS[unit as string] as number);
  }
  return total;
}

/** Formats milliseconds the way the config accepts them back. */
export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
