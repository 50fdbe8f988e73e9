/**
 * Regenerates dashboards/*.json and dashboards/README.md from the specs: `node --import tsx scripts/dashboards/build.ts`.
 * With `--check` it only reports files that differ from the generated output (exit 1), for CI.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DASHBOARDS, DASHBOARD_DIR, README, fileName, renderReadmeText, renderText } from './index.js';

const check = process.argv.includes('--check');
let stale = 0;
const outputs: Array<[string, Promise<string>]> = [
  ...DASHBOARDS.map((spec): [string, Promise<string>] => [
    path.join(DASHBOARD_DIR, fileName(spec)),
    renderText(spec),
  ]),
  [README, renderReadmeText()],
];
for (const [file, pending] of outputs) {
  const text = await pending;
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${path.relative(process.cwd(), file)} is not the generated output\n`);
  } else {
    await writeFile(file, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
if (stale > 0) process.exit(1);
