// Writes dist/build-info.json after `tsc` (npm run build): the commit and build time `etcd-monitor --version`
// prints (src/util/build-info.ts). An npm-installed copy has no .git, so the commit must be recorded here.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

let revision = 'unknown';
try {
  revision = execFileSync('git', ['rev-parse', 'HEAD'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  // A build from a tree with uncommitted changes is not that commit.
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  if (dirty) revision += '-dirty';
} catch {
  // not a git checkout (e.g. built from an unpacked tarball): the commit stays unknown
}
const info = { revision, buildDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify(info, null, 2)}\n`);
