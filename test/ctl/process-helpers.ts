import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CtlRun } from '../../src/ctl/commands.js';
import { BIN, ensureBuilt } from '../cli/built-cli.js';
// Kept apart from helpers.ts: importing child_process makes a test file "live" (test/projects.ts).

/**
 * A real `etcd-monitor` process as a user runs it: bin/etcd-monitor.js over dist/ (call `ensureBuilt` in
 * the file's beforeAll, so dist/ is built from the sources under test).
 */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr (or stdout) contains `text`, rejects if the process exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export { ensureBuilt };

/** Node flags that force a full GC every 50 ms in the CLI process (see gc-pressure.mjs). */
export const GC_PRESSURE = ['--expose-gc', '--import', './test/ctl/gc-pressure.mjs'];

export function spawnCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  nodeArgs: readonly string[] = [],
): CliProcess {
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const startedAt = performance.now();
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => void (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => void (err += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    startedAt,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(text, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      while (!err.includes(text) && !out.includes(text)) {
        if (gone) throw new Error(`exited before printing ${JSON.stringify(text)}; stderr: ${err}`);
        if (performance.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within ${timeoutMs}ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Runs the real CLI to completion: exit code, output and wall time from spawn to exit. */
export async function runCli(
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  nodeArgs?: readonly string[],
): Promise<CtlRun & { ms: number; signal: NodeJS.Signals | null }> {
  const p = spawnCli(args, env, nodeArgs);
  const { code, signal, at } = await p.exited;
  return { code: code ?? -1, signal, stdout: p.stdout(), stderr: p.stderr(), ms: at - p.startedAt };
}
