/**
 * Runs the round comparison of `exporter-round.ts` on its own, so the benchmark can start it as a child
 * with the node flags the exporter ships with (they change V8's GC and JIT, and so a round's CPU).
 * Usage: node [flags] --import tsx perf/exporter-round-main.ts CONFIG REPS WARMUP OUT_JSON
 */
import { writeFileSync } from 'node:fs';
import { resolveConfig } from '../src/config/resolve.js';
import { measureRounds } from './exporter-round.js';

const [configFile, reps, warmup, out] = process.argv.slice(2);
if (!configFile || !reps || !warmup || !out) {
  process.stderr.write('usage: exporter-round-main.ts CONFIG REPS WARMUP OUT_JSON\n');
  process.exit(2);
}
const config = resolveConfig({ flags: { config: configFile }, env: {} });
const result = await measureRounds(config, Number(reps), Number(warmup), (msg) =>
  process.stdout.write(`${msg}\n`),
);
writeFileSync(
  out,
  JSON.stringify({ ...result, nodeFlags: process.execArgv.filter((a) => a !== '--import' && a !== 'tsx') }),
);
process.exit(0);
