import { execFile, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// The real `etcd-monitor` command as a user runs it: bin/etcd-monitor.js over the compiled dist/.

export const REPO = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(REPO, 'bin', 'etcd-monitor.js');
export const run = promisify(execFile);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.ts')) newest = Math.max(newest, statSync(path.join(dir, entry)).mtimeMs);
  }
  return newest;
}

/**
 * Runs `npm run build` unless dist/ is newer than every file in src/ and package.json: the tests must run
 * what `make build` produces from the sources under test, not a stale dist/.
 */
export async function ensureBuilt(): Promise<void> {
  const built = statSync(path.join(REPO, 'dist', 'build-info.json'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(
    newestMtime(path.join(REPO, 'src')),
    statSync(path.join(REPO, 'package.json')).mtimeMs,
  );
  if (built > sources) return;
  await run('npm', ['run', '-s', 'build'], { cwd: REPO, timeout: 240_000 });
}

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `bin` (default: the checkout's bin/etcd-monitor.js) to completion with only the given environment
 * (an ETCD_MONITOR_* of the developer's shell must not leak in); SIGKILL after `timeoutMs`.
 */
export function cli(
  args: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; bin?: string; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.bin ?? process.execPath, opts.bin ? [...args] : [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A Node stack frame ("    at fn (file:line)"): none may reach a user for an error they can fix. */
export const STACK_FRAME = /^\s+at .+/m;
