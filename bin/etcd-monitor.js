#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=25
// Runs the compiled CLI; `npm run build` (or `make build`) produces dist/.
// GC flags, measured side by side in perf/README.md ("RSS and GC flags"): under scrape load V8's
// defaults let promoted request garbage grow the old generation to ≈230 MiB before collecting;
// --heap-growing-percent=25 collects it at 25 % growth (peak ≈135 MiB). A 2 MiB young generation is
// the middle ground for a collection round's scavenges: 1 MiB cost ≈30 ms more CPU a round, 4 MiB
// ≈5 ms less but ≈8 MiB more RSS; --optimize-for-size, used before for the RSS, doubled a round's CPU.
// `node bin/etcd-monitor.js` skips them.
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2)));
