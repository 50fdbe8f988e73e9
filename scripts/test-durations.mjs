// Where `make test`'s time goes, from vitest's JSON reports (.tmp/vitest.json and the legs'
// .tmp/vitest-<leg>.json): the slowest files — with the gap before each, which is mostly its beforeAll —
// and the slowest tests. Usage: node scripts/test-durations.mjs [--files N] [--tests N] <report.json>...
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const limit = { files: 30, tests: 40 };
const reports = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--files' || args[i] === '--tests') limit[args[i].slice(2)] = Number(args[++i]);
  else reports.push(args[i]);
}
if (reports.length === 0) reports.push('.tmp/vitest.json');

const files = [];
const tests = [];
for (const report of reports) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const run = /^vitest-(.+)\.json$/.exec(path.basename(report))?.[1] ?? 'main';
  const results = json.testResults
    .map((r) => ({ ...r, file: r.name.replace(/^.*?\/(test\/)/, '$1') }))
    .sort((a, b) => a.startTime - b.startTime);
  let total = 0;
  results.forEach((r, i) => {
    // Live files run one at a time, so the time since the previous file ended is this file's set-up.
    const gap = i > 0 ? Math.max(0, r.startTime - results[i - 1].endTime) / 1000 : 0;
    const own = (r.endTime - r.startTime) / 1000;
    total += gap + own;
    files.push({ run, file: r.file, gap, own });
    for (const t of r.assertionResults)
      tests.push({ run, file: r.file, title: t.title, s: (t.duration ?? 0) / 1000 });
  });
  console.log(
    `${run}: ${results.length} files, ${total.toFixed(0)} s from the first file's start to the last's end`,
  );
}
const s = (n) => n.toFixed(1).padStart(6);
console.log(`\nslowest files (set-up + tests):`);
for (const f of files.sort((a, b) => b.gap + b.own - (a.gap + a.own)).slice(0, limit.files))
  console.log(`${s(f.gap + f.own)} = ${s(f.gap)} + ${s(f.own)}  ${f.run.padEnd(16)} ${f.file}`);
console.log(`\nslowest tests:`);
for (const t of tests.sort((a, b) => b.s - a.s).slice(0, limit.tests))
  console.log(`${s(t.s)}  ${t.run.padEnd(16)} ${t.file} › ${t.title}`);
