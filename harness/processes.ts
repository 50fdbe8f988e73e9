import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const OUTPUT_LINES_KEPT = 200;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the process has exited (never rejects; a spawn failure resolves with code null). */
  readonly exited: Promise<ExitInfo>;
  readonly exitInfo: ExitInfo | undefined;
  readonly running: boolean;
  /** The last lines written to stdout and stderr, interleaved in arrival order. */
  output(): string;
}

export interface SpawnTrackedOptions {
  label?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

// Every child the harness starts, so the exit hook can reap them even when a test crashes before its
// afterAll runs. Children leave the set as soon as they exit.
const tracked = new Set<TrackedProcess>();

class LineTail {
  private readonly lines: string[] = [];
  private partial = '';

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.append(line);
  }

  text(): string {
    return (this.partial ? [...this.lines, this.partial] : this.lines).join('\n');
  }

  private append(line: string): void {
    this.lines.push(line);
    if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT);
  }
}

/** Spawns a child process that is reaped on process exit and whose recent output is kept for error messages. */
export function spawnTracked(
  command: string,
  args: string[],
  opts: SpawnTrackedOptions = {},
): TrackedProcess {
  const spawnOptions: SpawnOptions = { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] };
  const child = spawn(command, args, spawnOptions);
  const tail = new LineTail();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk));

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      tail.push(`\n[spawn error] ${err.message}\n`);
      // 'exit' does not follow an 'error' when the binary could not be started at all.
      if (child.pid === undefined) settle({ code: null, signal: null });
    });
    // 'close' rather than 'exit': it waits for stdout/stderr to drain, so output() holds the last words.
    child.once('close', (code, signal) => settle({ code, signal }));
    function settle(info: ExitInfo): void {
      if (exitInfo) return;
      exitInfo = info;
      tracked.delete(handle);
      resolve(info);
    }
  });

  const handle: TrackedProcess = {
    label: opts.label ?? command,
    child,
    pid: child.pid ?? -1,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    get running() {
      return exitInfo === undefined;
    },
    output: () => tail.text(),
  };
  tracked.add(handle);
  return handle;
}

/** Sends `signal` to a tracked process and waits for it to exit, escalating to SIGKILL after `graceMs`. */
export async function terminate(
  proc: TrackedProcess,
  signal: NodeJS.Signals,
  graceMs = 10_000,
): Promise<ExitInfo> {
  if (!proc.running) return proc.exitInfo as ExitInfo;
  // A SIGSTOPped process would sit on a pending SIGTERM forever.
  proc.child.kill('SIGCONT');
  proc.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const escalate = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  const first = await Promise.race([proc.exited, escalate.then(() => undefined)]);
  clearTimeout(timer);
  if (first) return first;
  proc.child.kill('SIGKILL');
  return proc.exited;
}

/** Synchronously SIGKILLs every tracked child that is still running. */
export function killAllTracked(): void {
  for (const proc of tracked) {
    try {
      process.kill(proc.pid, 'SIGCONT');
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  tracked.clear();
}

const lastRites = new Set<() => void>();

/** Registers a synchronous clean-up step that runs after the children are killed when the process dies. */
export function onProcessExit(fn: () => void): () => void {
  lastRites.add(fn);
  return () => lastRites.delete(fn);
}

function reapEverything(): void {
  killAllTracked();
  for (const fn of lastRites) {
    try {
      fn();
    } catch {
      // Best effort: the process is going away regardless.
    }
  }
  lastRites.clear();
}

process.on('exit', reapEverything);
// Signals skip the 'exit' event, so reap here too, then die of the same signal as intended unless someone
// else has taken over handling it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    reapEverything();
    process.off(signal, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error, e.g. "member 2 to become healthy". */
  what: string;
}

/**
 * Polls `fn` until it returns something other than false/null/undefined (so 0 and '' count as answers) and
 * resolves with it; a throw counts as "not yet". Rejects after `timeoutMs` naming `what` and the last failure.
 */
export async function waitFor<T>(
  fn: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'condition was never true';
  for (;;) {
    try {
      const value = await fn();
      if (value !== false && value !== null && value !== undefined) return value;
      lastProblem = `last result: ${JSON.stringify(value)}`;
    } catch (err) {
      lastProblem = `last error: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${opts.what} (${lastProblem})`);
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))),
    );
  }
}
