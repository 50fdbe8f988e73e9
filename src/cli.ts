import { pathToFileURL } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { givenFlags, withConfigFlags } from './config/flags.js';
import { ConfigError, MonitorError } from './util/errors.js';

/** Exit status for bad configuration or usage, as the issue tracker and scripts expect. */
export const EXIT_CONFIG = 2;

type BenchModule = typeof import('./loadgen/commands.js');

function serveCommand(bench: BenchModule | undefined): CommandModule {
  return {
    command: ['serve', '$0'],
    describe:
      'Run the exporter: collect from every member, derive cluster health, serve /metrics and the REST API',
    builder: (y) => (bench ? bench.withRunBenchmarkFlags(withConfigFlags(y)) : withConfigFlags(y)),
    handler: async (argv) => {
      if (argv['run-benchmark'] && bench)
        return bench.runBenchmarkFlag(givenFlags(argv as Record<string, unknown>));
      const { runExporter } = await import('./server/run-exporter.js');
      await runExporter(givenFlags(argv as Record<string, unknown>), process.env);
    },
  };
}

const BENCH_COMMANDS = new Set(['bench', 'disk-check', 'check']);

/**
 * The command modules these arguments need. The exporter runs for months: it should not carry the
 * benchmark engine or the operations client in memory (≈20 MB), so they load only when asked for.
 */
async function commandsFor(args: readonly string[]): Promise<CommandModule[]> {
  const help = args.includes('--help') || args.includes('-h') || args[0] === 'help';
  const first = args[0] ?? '';
  const benchmarkFlags = args.some(
    (a) => a === '--run-benchmark' || a.startsWith('--run-benchmark=') || a.startsWith('--benchmark-'),
  );
  const bench =
    help || BENCH_COMMANDS.has(first) || benchmarkFlags ? await import('./loadgen/commands.js') : undefined;
  const ctl = help || first === 'ctl' ? await import('./ctl/commands.js') : undefined;
  return [
    serveCommand(bench),
    ...(ctl ? [ctl.ctlCommand()] : []),
    ...(bench ? [bench.benchCommand, bench.diskCheckCommand, bench.checkCommand] : []),
  ];
}

/** Entry point of the `etcd-monitor` binary. */
export async function main(args: string[]): Promise<void> {
  try {
    await yargs(args)
      .scriptName('etcd-monitor')
      // --web.config.file is one flag (Prometheus exporter-toolkit's name), not a nested object.
      .parserConfiguration({ 'dot-notation': false })
      .command(await commandsFor(args))
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
