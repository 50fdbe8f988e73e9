/**
 * Regenerates deploy/kubernetes/ from scripts/kubernetes/: `npm run kubernetes`.
 * With `--check` it only reports files that differ from the generated output (exit 1), for CI.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEPLOY_DIR, manifestFiles, renderManifest } from './index.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const m of manifestFiles()) {
  const file = path.join(DEPLOY_DIR, m.file);
  const text = await renderManifest(m);
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${path.relative(process.cwd(), file)} is not the generated output\n`);
  } else {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
if (stale > 0) process.exit(1);
