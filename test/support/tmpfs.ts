import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A tmpfs mounted on a fresh temp directory (needs root, as the tests run here and in CI). */
export interface Tmpfs {
  readonly dir: string;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (mount(8) syntax, e.g. "64k") with extra options (e.g. "ro"). Throws, never
 * skips, when mounting is not permitted: the full-disk tests must not pass by not running.
 */
export function mountTmpfs(size: string, extra: readonly string[] = []): Tmpfs {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmpfs-'));
  try {
    execFileSync(
      'mount',
      ['-t', 'tmpfs', '-o', [`size=${size}`, 'mode=0755', ...extra].join(','), 'tmpfs', dir],
      {
        stdio: 'pipe',
      },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs (the full-disk tests need root): ${(err as Error).message}`);
  }
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Remounts a mounted tmpfs read-only or read-write. */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}
