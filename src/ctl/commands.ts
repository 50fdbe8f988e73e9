import yargs, { type Argv, type CommandModule } from 'yargs';
import { actions, FIELDS_ACTIONS, type Action, type Args, type Outcome } from './actions.js';
import { connectionFromArgs, DEFAULT_ENDPOINT } from './connection-settings.js';
import { CtlError, EXIT_CODES, toCtlError } from './errors.js';
import { boxTable, toJson, WRITE_OUT, type WriteOut } from './etcdctl-format.js';
import { renderTable } from './format.js';
import { EtcdOperations } from './operations.js';
import { processRuntime, type CtlRuntime } from './process-runtime.js';

export type { CtlRuntime } from './process-runtime.js';

/** The output asked for: etcdctl's `-w` (default simple) or the project's own `--output table|json`. */
function outputFormat(argv: Args): { writeOut?: WriteOut; output?: 'table' | 'json' } {
  const w = argv['write-out'] ?? undefined;
  if (w !== undefined && argv.output !== undefined) {
    throw new CtlError('USAGE', 'give either -w/--write-out (etcdctl formats) or --output, not both');
  }
  if (argv.output !== undefined) return { output: argv.output as 'table' | 'json' };
  return { writeOut: (w as WriteOut | undefined) ?? 'simple' };
}

function render(outcome: Outcome, f: ReturnType<typeof outputFormat>): string | undefined {
  const tableText = (boxed: boolean): string | undefined =>
    outcome.table === undefined
      ? undefined
      : typeof outcome.table === 'string'
        ? outcome.table
        : boxed
          ? boxTable(outcome.table)
          : renderTable(outcome.table);
  const projectJson = outcome.data === undefined ? undefined : `${JSON.stringify(outcome.data, null, 2)}\n`;
  switch (f.output ?? f.writeOut) {
    case 'json':
      if (f.output) return projectJson;
      return outcome.json !== undefined ? `${toJson(outcome.json)}\n` : projectJson;
    case 'table':
      return tableText(f.writeOut === 'table');
    case 'fields':
      return outcome.fields;
    default:
      return outcome.simple ?? tableText(false);
  }
}

async function execute(name: string, action: Action, argv: Args, io: CtlRuntime): Promise<void> {
  const json = argv.output === 'json' || argv['write-out'] === 'json';
  let ops: EtcdOperations | undefined;
  try {
    const format = outputFormat(argv);
    // Refused before running, so a `put -w fields` does not write and then fail.
    if (format.writeOut === 'fields' && !FIELDS_ACTIONS.has(name)) {
      throw new CtlError('USAGE', `fields is not supported as output format by ${name.replace('-', ' ')}`);
    }
    ops = new EtcdOperations(connectionFromArgs(argv));
    const outcome = await action(ops, { ...argv, output: json ? 'json' : argv.output }, io);
    const text = render(outcome, format);
    if (text !== undefined) io.write(text);
    io.exit(outcome.exitCode ?? EXIT_CODES.OK);
  } catch (err) {
    const e =
      err instanceof CtlError
        ? err
        : toCtlError(err, String(argv._ ? (argv._ as unknown[]).join(' ') : 'ctl'));
    if (json) {
      const details = e.details === undefined ? {} : { details: e.details };
      io.writeErr(`${JSON.stringify({ error: { code: e.kind, message: e.message, ...details } })}\n`);
    } else {
      io.writeErr(`etcd-monitor ctl: ${e.message}\n`);
    }
    io.exit(e.exitCode);
  } finally {
    ops?.close();
  }
}

type Builder = (y: Argv) => Argv;

function leaf(
  command: string,
  describe: string,
  action: string,
  io: CtlRuntime,
  builder: Builder = (y) => y,
): CommandModule {
  const fn = actions[action];
  if (!fn) throw new Error(`no ctl action ${action}`);
  return { command, describe, builder, handler: (argv) => execute(action, fn, argv as Args, io) };
}

function group(command: string, describe: string, children: CommandModule[]): CommandModule {
  return {
    command,
    describe,
    builder: (y) => y.command(children).demandCommand(1, 'name a subcommand'),
    handler: () => undefined,
  };
}

const rangeFlags: Builder = (y) =>
  y
    .positional('key-name', { type: 'string', describe: 'key (or range start)' })
    .positional('range-end', { type: 'string', describe: 'exclusive range end' })
    .option('prefix', { type: 'boolean', describe: 'every key with this prefix' })
    .option('from-key', { type: 'boolean', describe: 'every key >= key' });

// Without explicit string types yargs would turn a value "007" into 7 and a hex ID "12e4" into 120000.
const kvPositionals: Builder = (y) =>
  y.positional('key-name', { type: 'string' }).positional('value', { type: 'string' });
const idPositional: Builder = (y) => y.positional('id', { type: 'string', describe: 'hex ID' });

const timeoutFlag =
  (describe: string): Builder =>
  (y) =>
    y.option('timeout', { type: 'number', describe: `${describe} (seconds)` });

function subcommands(io: CtlRuntime): CommandModule[] {
  return [
    leaf(
      'get <key-name> [range-end]',
      'Read a key, a range or a prefix (exit 3 if a single key is missing)',
      'get',
      io,
      (y) =>
        rangeFlags(y)
          .option('limit', { type: 'number' })
          .option('rev', { type: 'number', describe: 'read at this revision' })
          .option('serializable', { type: 'boolean', describe: 'local read from the member, no quorum' })
          .option('keys-only', { type: 'boolean' })
          .option('count-only', { type: 'boolean' })
          .option('print-value-only', { type: 'boolean', describe: 'only the values (simple output)' }),
    ),
    leaf('put <key-name> <value>', 'Write a key', 'put', io, (y) =>
      y
        .option('lease', { type: 'string', describe: 'lease ID (hex)' })
        .option('prev-kv', { type: 'boolean' }),
    ),
    leaf('del <key-name> [range-end]', 'Delete a key, a range or a prefix', 'del', io, (y) =>
      rangeFlags(y).option('prev-kv', { type: 'boolean' }),
    ),
    leaf(
      'txn',
      'Run a transaction given as JSON {compare, success, failure} (exit 3 if the compare failed)',
      'txn',
      io,
      (y) =>
        y
          .option('spec', { type: 'string', describe: 'the JSON document' })
          .option('file', { type: 'string', describe: 'read it from a file ("-" = stdin)' }),
    ),
    leaf(
      'cas <key-name> <value>',
      'Compare-and-swap: write only if the key holds --expect (or is absent); exit 3 otherwise',
      'cas',
      io,
      (y) =>
        kvPositionals(y).option('expect', { type: 'string' }).option('expect-absent', { type: 'boolean' }),
    ),
    leaf(
      'watch <key-name> [range-end]',
      'Print changes to a key or range until interrupted',
      'watch',
      io,
      (y) =>
        timeoutFlag('stop after')(rangeFlags(y))
          .option('rev', { type: 'number', describe: 'start at this revision' })
          .option('prev-kv', { type: 'boolean' })
          .option('max-events', { type: 'number', describe: 'stop after this many events' }),
    ),
    leaf('compact <revision>', 'Discard history before a revision', 'compact', io, (y) =>
      y
        .positional('revision', { type: 'number' })
        .option('physical', { type: 'boolean', describe: 'wait until the backend has compacted' }),
    ),
    group('lease <command>', 'Lease operations', [
      leaf('grant <ttl>', 'Grant a lease of ttl seconds', 'lease-grant', io, (y) =>
        y.positional('ttl', { type: 'number' }),
      ),
      leaf('list', 'List every lease (hex IDs)', 'lease-list', io),
      leaf('revoke <id>', 'Revoke a lease and delete its keys', 'lease-revoke', io, idPositional),
      leaf('timetolive <id>', 'Remaining TTL of a lease (exit 3 if expired)', 'lease-timetolive', io, (y) =>
        idPositional(y).option('keys', { type: 'boolean' }),
      ),
      leaf('keep-alive <id>', 'Keep a lease alive until interrupted', 'lease-keep-alive', io, (y) =>
        timeoutFlag('stop after')(idPositional(y)).option('once', {
          type: 'boolean',
          describe: 'renew once and exit',
        }),
      ),
    ]),
    group('member <command>', 'Membership operations', [
      leaf('list', 'List members', 'member-list', io),
      leaf('add <name>', 'Add a member', 'member-add', io, (y) =>
        y
          .option('peer-urls', { type: 'string', demandOption: true, describe: 'comma-separated peer URLs' })
          .option('learner', { type: 'boolean' }),
      ),
      leaf('remove <id>', 'Remove a member by hex ID', 'member-remove', io, idPositional),
      leaf('promote <id>', 'Promote a learner to a voting member', 'member-promote', io, idPositional),
    ]),
    group('endpoint <command>', 'Per-endpoint checks', [
      leaf(
        'health',
        'Linearizable read + alarm check per endpoint (exit 4 if any is unhealthy)',
        'endpoint-health',
        io,
        clusterFlag,
      ),
      leaf(
        'status',
        'Maintenance status per endpoint (exit 4 if any is unreachable)',
        'endpoint-status',
        io,
        clusterFlag,
      ),
    ]),
    group('alarm <command>', 'Alarm operations', [
      leaf('list', 'List active alarms', 'alarm-list', io),
      leaf('disarm', 'Clear every active alarm', 'alarm-disarm', io),
    ]),
    leaf(
      'defrag',
      'Defragment one member at a time, leader last, health-checked in between; aborts if unhealthy (exit 4)',
      'defrag',
      io,
      (y) =>
        timeoutFlag('deadline per member')(clusterFlag(y)).option('health-timeout', {
          type: 'number',
          describe: 'wait this long for the cluster to be healthy after each member (seconds)',
        }),
    ),
    group('snapshot <command>', 'Snapshots', [
      leaf(
        'save <path>',
        'Save a snapshot from the first endpoint, verifying size and SHA-256 (exit 6 if not)',
        'snapshot-save',
        io,
        timeoutFlag('deadline'),
      ),
      leaf(
        'status <path>',
        'Hash, revision, keys and size of a snapshot file, read offline; checks its SHA-256 trailer (exit 6 if damaged)',
        'snapshot-status',
        io,
      ),
    ]),
    leaf(
      'move-leader <id>',
      'Transfer leadership to the member with this hex ID',
      'move-leader',
      io,
      idPositional,
    ),
  ];
}

const clusterFlag: Builder = (y) =>
  y.option('cluster', { type: 'boolean', describe: 'use every member from the member list' });

/** Flags shared by every ctl subcommand (the connection, credentials from files, output format). */
function withConnectionFlags(y: Argv): Argv {
  return y
    .option('endpoints', {
      type: 'string',
      defaultDescription: DEFAULT_ENDPOINT,
      describe: 'comma-separated client URLs (env ETCDCTL_ENDPOINTS)',
      group: 'Connection:',
    })
    .option('cert', {
      type: 'string',
      describe: 'client certificate file (ETCDCTL_CERT)',
      group: 'Connection:',
    })
    .option('key', { type: 'string', describe: 'client key file (ETCDCTL_KEY)', group: 'Connection:' })
    .option('cacert', {
      type: 'string',
      describe: 'CA bundle to verify the members (ETCDCTL_CACERT)',
      group: 'Connection:',
    })
    .option('user', {
      type: 'string',
      describe: 'etcd user name (ETCDCTL_USER, may be user:password)',
      group: 'Connection:',
    })
    .option('password-file', {
      type: 'string',
      describe: 'file holding the password (e.g. a secret mount; or env ETCDCTL_PASSWORD)',
      group: 'Connection:',
    })
    .option('command-timeout', {
      type: 'string',
      defaultDescription: '5s',
      describe: 'deadline of each request, including connecting',
      group: 'Connection:',
    })
    .option('write-out', {
      alias: 'w',
      choices: WRITE_OUT,
      describe: "etcdctl's output formats [default: simple]",
      group: 'Connection:',
    })
    .option('output', {
      choices: ['table', 'json'],
      describe: "etcd-monitor's own: aligned table, or JSON with decoded keys and hex IDs",
      group: 'Connection:',
    });
}

/** The `ctl` command; `io` defaults to the process (stdout, stderr, exit status, SIGINT). */
export function ctlCommand(io: CtlRuntime = processRuntime()): CommandModule {
  return {
    command: 'ctl <command>',
    describe: `etcdctl-like operations. Exit status: 0 ok, 1 failed, 2 usage, 3 not found / compare failed, 4 unavailable / unhealthy, 5 auth, 6 snapshot verification failed; ended by Ctrl-C/SIGTERM: 130/143`,
    builder: (y) => withConnectionFlags(y).command(subcommands(io)).demandCommand(1, 'name a subcommand'),
    handler: () => undefined,
  };
}

export interface CtlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `etcd-monitor ctl <args>` in this process and captures its output (tests, embedding). */
export async function runCtl(
  args: readonly string[],
  opts: { signal?: AbortSignal; stdin?: string } = {},
): Promise<CtlRun> {
  let stdout = '';
  let stderr = '';
  let code: number = EXIT_CODES.OK;
  const io: CtlRuntime = {
    write: (t) => void (stdout += t),
    writeErr: (t) => void (stderr += t),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.stdin !== undefined ? { readStdin: async () => opts.stdin as string } : {}),
    exit: (c) => void (code = c),
  };
  try {
    await yargs(['ctl', ...args])
      .scriptName('etcd-monitor')
      .command(ctlCommand(io))
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new CtlError('USAGE', msg);
      })
      .parseAsync();
  } catch (err) {
    stderr += `etcd-monitor: ${err instanceof Error ? err.message : String(err)}\n`;
    code = EXIT_CODES.USAGE;
  }
  return { code, stdout, stderr };
}
