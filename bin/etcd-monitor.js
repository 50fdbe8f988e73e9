#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=25
// Runs the compiled CLI; `npm run build` (or `make build`) produces dist/.
// GC flags, measured side by side in bench/README.md ("RSS and GC flags"): under scrape load V8's
// defaults let promoted request garbage grow the old generation to ≈230 MiB before collecting;
// --heap-growing-percent=25 collects it at 25 % growth (peak ≈140 MiB), and a 4 MiB young generation
// keeps a collection round's own scavenges cheap (1 MiB cost ≈30 ms of CPU a round, and
// --optimize-for-size, used before for the same RSS, about twice the round's CPU).
// `node bin/etcd-monitor.js` skips them.
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2)));
