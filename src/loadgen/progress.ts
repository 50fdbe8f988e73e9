// The progress line of `bench`, `check` and `disk-check` on a terminal, like etcdctl `check perf`'s bar:
// one line on stderr rewritten in place with \r. The work only bumps counters; a timer (every 250 ms,
// unref'd, cleared at the end) draws them, so the hot loop never writes to the terminal. Nothing at all
// is written when the stream is not a TTY: piped output stays byte-identical.

/** What the running work has done so far; the work updates it, the timer reads it. */
export interface ProgressCounters {
  /** What is running ("write", "members", "fdatasync"). */
  phase: string;
  /** Unit of `done` ("ops", "syncs", "members"). */
  unit: string;
  done: number;
  /** Total expected (an op count); gives the ETA when there is no duration. */
  expected?: number;
  /** Planned length of the phase (a --duration or a profile's 60 s); gives the ETA first. */
  durationMs?: number;
  /** Milliseconds the phase has run (from the work's own clock); elapsed since the phase began otherwise. */
  phaseElapsedMs?: number;
}

const secs = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))}s`;

/** The line's text (no \r): "write: 1234 ops, 567 ops/s, elapsed 3s, ETA 57s". Pure, for tests. */
export function progressText(c: ProgressCounters, elapsedMs: number, phaseElapsedMs: number): string {
  const rate = phaseElapsedMs > 0 ? (c.done / phaseElapsedMs) * 1000 : 0;
  let eta = '?';
  if (c.durationMs !== undefined) eta = secs(c.durationMs - phaseElapsedMs);
  else if (c.expected !== undefined && rate > 0) eta = secs(((c.expected - c.done) / rate) * 1000);
  const of = c.expected !== undefined ? `/${c.expected}` : '';
  return `${c.phase}: ${c.done}${of} ${c.unit}, ${Math.round(rate)} ${c.unit}/s, elapsed ${secs(elapsedMs)}, ETA ${eta}`;
}

export interface Progress {
  readonly counters: ProgressCounters;
  /** Starts a new phase: its rate and ETA count from now. */
  phase(phase: string, unit: string, over?: Partial<ProgressCounters>): void;
  /** Draws the line now (the timer does it every 250 ms). */
  draw(): void;
  /** Stops the timer and clears the line, so the report starts on a clean line. Idempotent. */
  stop(): void;
}

/** A progress line on `stream` when it is a TTY; undefined (nothing drawn, no timer) otherwise. */
export function startProgress(
  stream: NodeJS.WriteStream,
  counters: ProgressCounters,
  intervalMs = 250,
): Progress | undefined {
  if (!stream.isTTY) return undefined;
  const t0 = Date.now();
  let phaseStart = t0;
  let drawn = false;
  let stopped = false;
  const draw = (): void => {
    if (stopped) return;
    const now = Date.now();
    const phaseMs = counters.phaseElapsedMs ?? now - phaseStart;
    const width = stream.columns ? stream.columns - 1 : 100;
    // \x1b[K clears what a longer previous line left behind.
    stream.write(`\r${progressText(counters, now - t0, phaseMs).slice(0, width)}\x1b[K`);
    drawn = true;
  };
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  return {
    counters,
    phase(phase, unit, over = {}) {
      phaseStart = Date.now();
      counters.phase = phase;
      counters.unit = unit;
      counters.done = 0;
      delete counters.expected;
      delete counters.durationMs;
      delete counters.phaseElapsedMs;
      Object.assign(counters, over);
    },
    draw,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
