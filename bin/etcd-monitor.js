#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` (or `make build`) produces dist/.
import('../dist/cli.js').then((cli) => cli.main(process.argv.slice(2)));
