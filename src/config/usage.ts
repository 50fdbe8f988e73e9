import { UsageError } from '../util/errors.js';

// Usage errors that name what was typed: yargs reports `ctl gett foo` as "Unknown argument: foo" (it took
// "gett" for the <command> positional and complained about the next word) and never suggests a flag. The
// CLI hands the failing level's commands and flags here (src/cli.ts) and gets the message to print.

/** What yargs knew at the level where parsing failed. */
export interface UsageLevel {
  /** The command words that matched, e.g. ['ctl'] for `etcd-monitor ctl gett foo`. */
  readonly path: readonly string[];
  /** Subcommand names (and aliases) valid at this level; empty for a leaf command. */
  readonly commands: readonly string[];
  /** Every long flag name known at this level, without dashes. */
  readonly flags: readonly string[];
  /** Flags that take no value (so the next word is not theirs). */
  readonly booleans: readonly string[];
  /** Short aliases, e.g. { w: 'output', h: 'help' }. */
  readonly shortAliases: Readonly<Record<string, string>>;
}

/** Optimal-string-alignment edit distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`: within one edit per three letters (at least one, as git and cobra
 * suggest), or one that `word` begins (`mem` → `member`). Undefined when nothing is that close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  if (best) return best.name;
  return word.length >= 2 ? candidates.find((name) => name.startsWith(word)) : undefined;
}

/** The words of `args` that are not flags or flag values, up to `--`. */
export function positionals(args: readonly string[], level: UsageLevel): string[] {
  const out: string[] = [];
  const booleans = new Set(level.booleans);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (name.includes('=') || name.startsWith('no-') || booleans.has(name)) continue;
      if (level.flags.includes(name)) i++; // its value
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const long = level.shortAliases[arg.slice(1)];
      if (long !== undefined && !booleans.has(long)) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

const quote = (s: string) => `"${s}"`;

/**
 * The UsageError for a failed parse: the unknown command or flag named as typed, with the closest valid
 * one; otherwise yargs' own message. Each ends with where to read the usage.
 */
export function usageError(args: readonly string[], level: UsageLevel, yargsMessage: string): UsageError {
  const where = ['etcd-monitor', ...level.path].join(' ');
  const hint = `run "${where} --help" for usage`;
  // Flags first: an unknown flag's value would otherwise be taken for a command word.
  const known = new Set([...level.flags, ...level.booleans.map((b) => `no-${b}`)]);
  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0]!;
    if (known.has(name)) continue;
    const near = closest(name, level.flags);
    return new UsageError(`Unknown flag --${name}${near ? ` — did you mean --${near}?` : ''} (${hint})`);
  }
  if (level.commands.length > 0) {
    const word = positionals(args, level)[level.path.length];
    if (word === undefined) {
      return new UsageError(`${quote(where)} needs a command: ${level.commands.join(', ')} (${hint})`);
    }
    if (!level.commands.includes(word)) {
      const near = closest(word, level.commands);
      const tail = near ? ` — did you mean ${quote(near)}?` : ` (commands: ${level.commands.join(', ')})`;
      return new UsageError(`Unknown command ${quote(word)} for ${quote(where)}${tail}`);
    }
  }
  // yargs' own text (missing argument, invalid choice) on one line.
  return new UsageError(`${yargsMessage.replace(/\s*\n\s*/g, ' ')} (${hint})`);
}
