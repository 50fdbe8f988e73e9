import yargs, { type Argv, type CommandModule } from 'yargs';
import { hasTlsFiles } from '../etcd/tls-material.js';
import { parseDurationMs } from '../util/duration.js';
import { parseEndpoint } from '../util/endpoint.js';
import { actions, type Action, type Args, type CtlIo } from './actions.js';
import type { EtcdConnection } from './client.js';
import { CtlError, EXIT_CODES, toCtlError } from './errors.js';
import { renderTable } from './format.js';
import { EtcdOperations } from './operations.js';

/** A CtlIo that can also report the exit status. */
export interface CtlRuntime extends CtlIo {
  exit(code: number): void;
}

/** Builds the connection from the ctl flags; endpoints without a scheme get https when TLS files are given. */
export function connectionFromArgs(a: Args): EtcdConnection {
  const tls = {
    ...(a.cert ? { certFile: String(a.cert) } : {}),
    ...(a.key ? { keyFile: String(a.key) } : {}),
    ...(a.cacert ? { caFile: String(a.cacert) } : {}),
  };
  const secure = hasTlsFiles(tls);
  const endpoints = String(a.endpoints)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      try {
        return parseEndpoint(e, { scheme: secure ? 'https' : 'http' }).url;
      } catch (err) {
        throw new CtlError('USAGE', `--endpoints: ${(err as Error).message}`, { cause: err });
      }
    });
  let timeoutMs: number;
  try {
    timeoutMs = parseDurationMs(String(a['command-timeout']));
  } catch (err) {
    throw new CtlError('USAGE', `--command-timeout: ${(err as Error).message}`);
  }
  if (a.user !== undefined && a['password-file'] === undefined) {
    throw new CtlError(
      'USAGE',
      '--user needs --password-file (passwords are never taken on the command line)',
    );
  }
  return {
    endpoints,
    requestTimeoutMs: timeoutMs,
    ...(secure ? { tls } : {}),
    ...(a.user !== undefined
      ? { auth: { username: String(a.user), passwordFile: String(a['password-file']) } }
      : {}),
  };
}

async function execute(action: Action, argv: Args, io: CtlRuntime): Promise<void> {
  const json = argv.output === 'json';
  let ops: EtcdOperations | undefined;
  try {
    ops = new EtcdOperations(connectionFromArgs(argv));
    const outcome = await action(ops, argv, io);
    if (outcome.data !== undefined && json) io.write(`${JSON.stringify(outcome.data, null, 2)}\n`);
    else if (outcome.table !== undefined && !json) {
      io.write(typeof outcome.table === 'string' ? outcome.table : renderTable(outcome.table));
    }
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
  return { command, describe, builder, handler: (argv) => execute(fn, argv as Args, io) };
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
          .option('count-only', { type: 'boolean' }),
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
      default: 'http://127.0.0.1:2379',
      describe: 'comma-separated client URLs',
      group: 'Connection:',
    })
    .option('cert', { type: 'string', describe: 'client certificate file', group: 'Connection:' })
    .option('key', { type: 'string', describe: 'client key file', group: 'Connection:' })
    .option('cacert', { type: 'string', describe: 'CA bundle to verify the members', group: 'Connection:' })
    .option('user', { type: 'string', describe: 'etcd user name', group: 'Connection:' })
    .option('password-file', {
      type: 'string',
      describe: 'file holding the password (e.g. a secret mount)',
      group: 'Connection:',
    })
    .option('command-timeout', {
      type: 'string',
      default: '5s',
      describe: 'deadline of each request, including connecting',
      group: 'Connection:',
    })
    .option('output', {
      alias: 'w',
      choices: ['table', 'json'],
      default: 'table',
      describe: 'output format',
      group: 'Connection:',
    });
}

/** The `ctl` command; `io` defaults to the process (stdout, stderr, exit status, SIGINT). */
export function ctlCommand(io: CtlRuntime = processRuntime()): CommandModule {
  return {
    command: 'ctl <command>',
    describe: `etcdctl-like operations. Exit status: 0 ok, 1 failed, 2 usage, 3 not found / compare failed, 4 unavailable / unhealthy, 5 auth, 6 snapshot verification failed`,
    builder: (y) => withConnectionFlags(y).command(subcommands(io)).demandCommand(1, 'name a subcommand'),
    handler: () => undefined,
  };
}

/** Grace for a stream to close after Ctrl-C/SIGTERM before the process ends anyway. */
const SIGNAL_GRACE_MS = 300;
/** A finished command whose connections still hold the event loop (etcd3 retrying a dead member) exits after this. */
const EXIT_GRACE_MS = 1_000;

function processRuntime(): CtlRuntime {
  let controller: AbortController | undefined;
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (caught) die(sig);
    caught = sig;
    controller?.abort();
    setTimeout(() => die(sig), SIGNAL_GRACE_MS);
  };
  // Like etcdctl (Go's default handling), an interrupted watch ends by the signal itself, so the shell sees
  // 130 (SIGINT) or 143 (SIGTERM) and a script can tell an interrupt from a result.
  const die = (sig: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
    setTimeout(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)), 100).unref();
  };
  return {
    write: (t) => process.stdout.write(t),
    writeErr: (t) => process.stderr.write(t),
    // Installed only when a long-running subcommand (watch, keep-alive) asks, so Ctrl-C ends it cleanly
    // instead of killing it mid-write, while every other command keeps the default signal behaviour.
    get signal() {
      if (!controller) {
        controller = new AbortController();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }
      return controller.signal;
    },
    exit: (code) => {
      if (caught) return die(caught);
      process.exitCode = code;
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    },
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
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
