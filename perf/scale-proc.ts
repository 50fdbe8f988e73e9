import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process (all its threads) from /proc/<pid>/stat fields 14 and 15. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** VmRSS and VmHWM (peak RSS since start) of a process, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat), to say how loaded it was. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** What one process did over a measurement window. */
export interface ProcessWindow {
  readonly cpuSeconds: number;
  readonly rssMedianBytes: number;
  readonly rssMaxBytes: number;
  /** VmHWM at the end of the window: the peak since the process started (warm-up included). */
  readonly hwmBytes: number;
}

/** Everything measured over one window, per watched process. */
export interface WindowResult {
  readonly seconds: number;
  readonly processes: Record<string, ProcessWindow>;
  /** Share of the machine's CPUs that were busy during the window (all processes, ours and others'). */
  readonly machineBusy: number;
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Measures `pids` over `seconds`: CPU from /proc/<pid>/stat at both ends, VmRSS sampled every second.
 * `during` runs concurrently (e.g. an idle exporter's scrapes) and is awaited before the window closes.
 */
export async function measureWindow(
  pids: Record<string, number>,
  seconds: number,
  during?: (until: number) => Promise<void>,
): Promise<WindowResult> {
  const names = Object.keys(pids);
  const cpu0 = Object.fromEntries(names.map((n) => [n, cpuSeconds(pids[n] as number)]));
  const rss: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  const sample = () => {
    for (const n of names) rss[n]?.push(memory(pids[n] as number).rss);
  };
  const ticks0 = machineTicks();
  const loadAverageStart = loadAverage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  sample();
  const sampler = setInterval(sample, 1000);
  try {
    await Promise.all([
      new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
      during ? during(until) : Promise.resolve(),
    ]);
  } finally {
    clearInterval(sampler);
  }
  sample();
  const elapsed = (performance.now() - t0) / 1000;
  const ticks1 = machineTicks();
  const processes: Record<string, ProcessWindow> = {};
  for (const n of names) {
    const pid = pids[n] as number;
    const samples = rss[n] as number[];
    processes[n] = {
      cpuSeconds: cpuSeconds(pid) - (cpu0[n] as number),
      rssMedianBytes: median(samples),
      rssMaxBytes: Math.max(...samples),
      hwmBytes: memory(pid).hwm,
    };
  }
  return {
    seconds: elapsed,
    processes,
    machineBusy: (ticks1.busy - ticks0.busy) / Math.max(1, ticks1.total - ticks0.total),
    loadAverageStart,
    loadAverageEnd: loadAverage(),
  };
}
