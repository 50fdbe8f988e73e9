import { pathToFileURL } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from './config/completion.js';
import { givenFlags, withConfigFlags } from './config/flags.js';
import { usageError, type UsageLevel } from './config/usage.js';
import { versionText } from './util/build-info.js';
import { ConfigError, MonitorError, UsageError } from './util/errors.js';
import { describeSystemError } from './util/system-error.js';

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

const completionCommand: CommandModule = {
  command: 'completion <shell>',
  describe: 'Print a shell completion script (bash or zsh), e.g. source <(etcd-monitor completion bash)',
  builder: (y) => y.positional('shell', { choices: COMPLETION_SHELLS, describe: 'shell' }),
  handler: (argv) => {
    process.stdout.write(completionScript(argv['shell'] as CompletionShell));
  },
};

const BENCH_COMMANDS = new Set(['bench', 'disk-check', 'check']);
/** Every top-level command, loaded or not (a typo is compared with all of them). */
const TOP_COMMANDS = ['serve', 'ctl', 'bench', 'disk-check', 'check', 'completion'];
/** The flag the completion scripts call the program with (yargs' completion protocol). */
const COMPLETION_REQUEST = '--get-yargs-completions';

/**
 * The command modules these arguments need. The exporter runs for months: it should not carry the
 * benchmark engine or the operations client in memory (≈20 MB), so they load only when asked for — or when
 * every command must be known: help, shell completion, and an unknown first word (to suggest the closest).
 */
async function commandsFor(args: readonly string[]): Promise<CommandModule[]> {
  const first = args[0] ?? '';
  const all =
    args.includes('--help') ||
    args.includes('-h') ||
    first === 'help' ||
    args.includes(COMPLETION_REQUEST) ||
    (first !== '' && !first.startsWith('-') && !TOP_COMMANDS.includes(first));
  const benchmarkFlags = args.some(
    (a) => a === '--run-benchmark' || a.startsWith('--run-benchmark=') || a.startsWith('--benchmark-'),
  );
  const bench =
    all || BENCH_COMMANDS.has(first) || benchmarkFlags ? await import('./loadgen/commands.js') : undefined;
  const ctl = all || first === 'ctl' ? await import('./ctl/commands.js') : undefined;
  return [
    serveCommand(bench),
    ...(ctl ? [ctl.ctlCommand()] : []),
    ...(bench ? [bench.benchCommand, bench.diskCheckCommand, bench.checkCommand] : []),
    completionCommand,
  ];
}

/** yargs' own view of the level where parsing stopped (not in its type declarations). */
interface YargsInternals {
  getInternalMethods(): { getContext(): { commands: string[] } };
  getOptions(): { key: Record<string, unknown>; boolean: string[]; alias: Record<string, string[]> };
}
interface UsageInternals {
  getCommands(): [string, string, boolean, string[] | undefined, boolean][];
}

/** The commands and flags yargs knew where it failed, for a message that names what was typed. */
function failedLevel(y: Argv, usage: unknown): UsageLevel {
  const internals = y as unknown as YargsInternals;
  const options = internals.getOptions();
  const commands = ((usage as Partial<UsageInternals>).getCommands?.() ?? [])
    .flatMap(([cmd, , , aliases]) => [cmd.split(' ')[0]!, ...(aliases ?? [])])
    .filter((name) => name !== '$0');
  const names = new Set<string>(Object.keys(options.key));
  const shortAliases: Record<string, string> = {};
  for (const [name, aliases] of Object.entries(options.alias)) {
    for (const alias of aliases) {
      if (alias.length === 1) shortAliases[alias] = name;
      else names.add(alias);
    }
  }
  const path = internals.getInternalMethods().getContext().commands.slice();
  return {
    path,
    // At the top, the commands whose modules were not loaded for these arguments count too.
    commands: path.length === 0 ? [...new Set([...TOP_COMMANDS, ...commands])] : commands,
    // yargs adds camelCase twins of every dashed flag; users type the dashed ones.
    flags: [...names].filter((n) => n.length > 1 && !/[A-Z]/.test(n)),
    booleans: options.boolean,
    shortAliases,
  };
}

/** Entry point of the `etcd-monitor` binary. */
export async function main(argv: string[]): Promise<void> {
  // yargs completes a default command's flags only when the command is named, so `etcd-monitor --api-p<TAB>`
  // is completed as `etcd-monitor serve --api-p<TAB>`.
  const args =
    argv[0] === COMPLETION_REQUEST && argv[1]?.startsWith('-') ? [argv[0], 'serve', ...argv.slice(1)] : argv;
  try {
    const y = yargs(args);
    await y
      .scriptName('etcd-monitor')
      // --web.config.file is one flag (Prometheus exporter-toolkit's name), not a nested object.
      .parserConfiguration({ 'dot-notation': false })
      .command(await commandsFor(args))
      .strict()
      .help('help')
      .alias('help', 'h')
      .version(
        'version',
        'Show the version, commit and Node.js version',
        // Only when asked: from a checkout without dist/build-info.json it runs `git rev-parse`.
        args.includes('--version') ? versionText() : '',
      )
      // At most 120 columns on a terminal; unwrapped when piped (one flag per line for grep).
      .wrap(y.terminalWidth() ? Math.min(120, y.terminalWidth()) : null)
      .fail((msg, err, usage) => {
        if (err) throw err;
        throw usageError(args, failedLevel(y, usage), msg);
      })
      .parseAsync();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`etcd-monitor: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    // A busy port or a path that cannot be created: one line, not a stack trace.
    const system = describeSystemError(err);
    if (system !== undefined || err instanceof MonitorError) {
      process.stderr.write(`etcd-monitor: ${system ?? (err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void main(process.argv.slice(2));
}
