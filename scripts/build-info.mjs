// Writes dist/build-info.json after `tsc` (npm run build): the commit and build time `etcd-monitor --version`
// prints (src/util/build-info.ts). An npm-installed copy has no .git, so the commit must be recorded here.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const git = (...args) =>
  execFileSync('git', args, {
    cwd: new URL('..', import.meta.url), // the package root, wherever npm runs the build from
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();

function revision() {
  // Builds without .git (the Docker image: --build-arg BUILD_REVISION=$(git rev-parse HEAD)).
  if (process.env.BUILD_REVISION) return process.env.BUILD_REVISION;
  try {
    // A build from a tree with uncommitted changes is not that commit.
    return git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '');
  } catch {
    return 'unknown'; // not a git checkout (e.g. built from an unpacked tarball)
  }
}

const info = { revision: revision(), buildDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify(info, null, 2)}\n`);
