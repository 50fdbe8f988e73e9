import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { VERSION } from './version.js';

/**
 * What `--version` prints, in node_exporter's layout ("node_exporter, version 1.7.0 (branch: …, revision: …)"
 * and indented build lines). The commit comes from dist/build-info.json, written by `npm run build`
 * (scripts/build-info.mjs), so an npm-installed copy without .git knows it; from a checkout run through
 * tsx there is no build-info.json and `git rev-parse` is asked; otherwise it is "unknown".
 */
export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly buildDate?: string;
}

/** File name of the build record, next to cli.js in dist/. */
export const BUILD_INFO_FILE = 'build-info.json';

function fromBuildFile(): BuildInfo | undefined {
  try {
    // dist/util/build-info.js → dist/build-info.json
    const raw = JSON.parse(readFileSync(new URL(`../${BUILD_INFO_FILE}`, import.meta.url), 'utf8')) as {
      revision?: unknown;
      buildDate?: unknown;
    };
    if (typeof raw.revision !== 'string' || raw.revision === '') return undefined;
    return {
      version: VERSION,
      revision: raw.revision,
      ...(typeof raw.buildDate === 'string' ? { buildDate: raw.buildDate } : {}),
    };
  } catch {
    return undefined;
  }
}

function fromGit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  } catch {
    return undefined;
  }
}

/** The build record; asks git only when no build file exists (a checkout run from src/). */
export function buildInfo(): BuildInfo {
  return fromBuildFile() ?? { version: VERSION, revision: fromGit() || 'unknown' };
}

/** The `--version` text. */
export function versionText(info: BuildInfo = buildInfo()): string {
  return [
    `etcd-monitor, version ${info.version} (revision: ${info.revision})`,
    ...(info.buildDate ? [`  build date:       ${info.buildDate}`] : []),
    `  node version:     ${process.version}`,
    `  platform:         ${process.platform}/${process.arch}`,
  ].join('\n');
}
