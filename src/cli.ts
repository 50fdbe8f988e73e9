import { pathToFileURL } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { FIELDS, type FieldSpec } from './config/fields.js';
import {
  benchCommand,
  checkCommand,
  diskCheckCommand,
  runSeedBenchmark,
  withSeedBenchmarkFlags,
} from './bench/commands.js';
import { ctlCommand } from './ctl/commands.js';
import { ConfigError, MonitorError } from './util/errors.js';

/** Exit status for bad configuration or usage, as the issue tracker and scripts expect. */
export const EXIT_CONFIG = 2;

/** Declares every exporter setting as a flag without yargs defaults, so precedence is decided in one place. */
export function withConfigFlags<T>(y: Argv<T>): Argv<T> {
  let out = y.option('config', {
    type: 'string',
    describe: 'YAML configuration file',
    group: 'Configuration:',
  });
  for (const spec of Object.values(FIELDS) as FieldSpec[]) {
    const def = Array.isArray(spec.defaultValue) ? spec.defaultValue.join(',') : String(spec.defaultValue);
    out = out.option(spec.flag, {
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      describe: `${spec.doc} [default: ${def === '' ? 'none' : def}]`,
      group: 'Configuration:',
    });
  }
  return out;
}

/** Keeps only flags the user gave (yargs also adds camelCase aliases and positional bookkeeping). */
export function givenFlags(argv: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || /[A-Z]/.test(key) || value === undefined) continue;
    flags[key] = value;
  }
  return flags;
}

const serveCommand: CommandModule = {
  command: ['serve', '$0'],
  describe:
    'Run the exporter: collect from every member, derive cluster health, serve /metrics and the REST API',
  builder: (y) => withSeedBenchmarkFlags(withConfigFlags(y)),
  handler: async (argv) => {
    if (argv['run-benchmark']) return runSeedBenchmark(givenFlags(argv as Record<string, unknown>));
    const { runExporter } = await import('./server/run-exporter.js');
    await runExporter(givenFlags(argv as Record<string, unknown>), process.env);
  },
};

/** Subcommands besides the exporter; each module adds its own. */
const COMMANDS: CommandModule[] = [serveCommand, ctlCommand(), benchCommand, diskCheckCommand, checkCommand];

/** Entry point of the `etcd-monitor` binary. */
export async function main(args: string[]): Promise<void> {
  try {
    await yargs(args)
      .scriptName('etcd-monitor')
      .command(COMMANDS)
      .strict()
      .help()
      .version(false)
      .fail((msg, err) => {
        if (err) throw err;
        throw new ConfigError('usage', msg);
      })
      .parseAsync();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-monitor: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    if (err instanceof MonitorError) {
      process.stderr.write(`etcd-monitor: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void main(process.argv.slice(2));
}
