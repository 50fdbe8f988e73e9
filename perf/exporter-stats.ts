/** Median of a non-empty sample (mean of the middle two for even sizes). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rounds to `digits` decimals for the report, keeping numbers as numbers in the JSON. */
export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
