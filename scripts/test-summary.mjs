// Prints the plain closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON reports:
// the main run's first, then one line per version leg (.tmp/vitest-<leg>.json, scripts/test-legs.sh),
// and last the total over all of them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const files = process.argv.slice(2);
const total = { passed: 0, failed: 0, skipped: 0 };
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`test-summary: cannot read ${file}: ${err.message}`);
    process.exit(1);
  }
  const passed = report.numPassedTests ?? 0;
  const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  total.passed += passed;
  total.failed += failed;
  total.skipped += skipped;
  const leg = /^vitest-(.+)\.json$/.exec(path.basename(file))?.[1];
  const label = leg ? `version leg ${leg}` : 'main run (etcd 3.4, Prometheus 2.42, Alertmanager 0.25)';
  console.log(`${label}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
