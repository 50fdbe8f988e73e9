#!/usr/bin/env -S node --max-semi-space-size=1
// Runs the compiled CLI; `npm run build` (or `make build`) produces dist/.
// A 1 MiB young generation keeps the exporter's resident memory about a quarter lower (its garbage is
// short-lived text from each scrape and round); see bench/README.md. `node bin/etcd-monitor.js` skips it.
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2)));
