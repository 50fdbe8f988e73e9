#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
// Runs the compiled CLI; `npm run build` (or `make build`) produces dist/.
// A 1 MiB young generation keeps the exporter's resident memory about a quarter lower (its garbage is
// short-lived text from each scrape and round), and --optimize-for-size makes V8 collect the old
// generation before it doubles under scrape load (10 clusters: 226 → 133 MiB peak); see
// bench/README.md. `node bin/etcd-monitor.js` skips both.
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2)));
