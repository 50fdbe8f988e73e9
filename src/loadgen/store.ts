import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchmarkResult } from './result.js';

/** One persisted run: id, status and (when finished) the result or the error. */
export interface StoredRun {
  id: string;
  status: 'completed' | 'failed';
  request?: unknown;
  result?: BenchmarkResult;
  error?: { code: string; message: string };
}

/** File name of the JSON-lines history under the data directory. */
export const RESULTS_FILE = 'benchmark-results.jsonl';

/** Append-only JSON-lines store of finished runs under `dataDir` (one line per run; survives restarts). */
export class BenchmarkStore {
  readonly file: string;
  constructor(dataDir: string) {
    this.file = path.join(dataDir, RESULTS_FILE);
  }

  /** Creates the data dir and opens the results file for appending once: fails now if either cannot be. */
  async prepare(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, '');
  }

  async append(run: StoredRun): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(run)}\n`);
  }

  /** All stored runs, oldest first; a torn last line (crash mid-write) is skipped. */
  async all(): Promise<StoredRun[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const runs: StoredRun[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        runs.push(JSON.parse(line) as StoredRun);
      } catch {
        // ignore a partial line
      }
    }
    return runs;
  }

  async get(id: string): Promise<StoredRun | undefined> {
    const runs = await this.all();
    return runs.reverse().find((r) => r.id === id);
  }
}

/** Change of the key numbers between consecutive completed runs of the same workload (newest last). */
export interface RunComparison {
  id: string;
  type: string;
  finishedAt: string;
  throughput: number;
  p99Ms: number;
  failed: number;
  sloPassed: boolean;
  /** Relative change against the previous run of the same type (0.1 = +10 %); null for the first. */
  throughputChange: number | null;
  p99Change: number | null;
}

/** Compares the last `limit` completed runs, each against the previous run of the same workload. */
export function compareRuns(runs: readonly StoredRun[], limit = 10): RunComparison[] {
  const previous = new Map<string, BenchmarkResult>();
  const out: RunComparison[] = [];
  for (const run of runs) {
    const r = run.result;
    if (run.status !== 'completed' || !r) continue;
    const key = r.profile ? `${r.type}/${r.profile}` : r.type;
    const prev = previous.get(key);
    out.push({
      id: run.id,
      type: key,
      finishedAt: r.finishedAt,
      throughput: r.throughput,
      p99Ms: r.latency.p99Ms,
      failed: r.failed,
      sloPassed: r.slo.passed,
      throughputChange: prev && prev.throughput > 0 ? r.throughput / prev.throughput - 1 : null,
      p99Change: prev && prev.latency.p99Ms > 0 ? r.latency.p99Ms / prev.latency.p99Ms - 1 : null,
    });
    previous.set(key, r);
  }
  return out.slice(-limit);
}
