import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One line of a CPU profile summary: self time of a function (or of a file, for `byFile`). */
export interface ProfileEntry {
  readonly what: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Share of samples not idle: what the process spent working. */
  readonly busyMs: number;
  readonly topFunctions: readonly ProfileEntry[];
  readonly topFiles: readonly ProfileEntry[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

const REPO = path.resolve(import.meta.dirname, '..');

/** Shortens a script URL to a path inside the repo (compiled files keep src/'s layout). */
function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const compiled = file.indexOf('/scale-exporter-dist/');
  if (compiled >= 0) return `src/${file.slice(compiled + '/scale-exporter-dist/'.length)}`;
  if (file.startsWith(REPO)) return path.relative(REPO, file);
  return file || '(native)';
}

/**
 * Self time per function and per file of the `.cpuprofile` that `node --cpu-prof` wrote into `dir`
 * (the newest one), the top `top` of each. "(idle)" is left out of the shares: they are of busy time.
 */
export function summarizeProfile(dir: string, top = 20): ProfileSummary {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const file = files.at(-1);
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const frame = byId.get(id);
    const name = frame?.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      return;
    }
    const url = shortUrl(frame?.url ?? '');
    const fn = frame?.url ? `${name} ${url}:${(frame.lineNumber ?? 0) + 1}` : name;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const fileKey = frame?.url ? url : name.startsWith('RegExp:') ? '(regular expressions)' : name;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  });
  const busy = total - idle;
  const topOf = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, us]) => ({
        what,
        selfMs: Math.round(us / 100) / 10,
        share: Math.round((us / Math.max(1, busy)) * 1000) / 1000,
      }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    topFunctions: topOf(byFunction),
    topFiles: topOf(byFile),
  };
}
