import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cli } from './cli-process.js';

// --shard-index / --shard-count through the real CLI process (from source, as test/config/cli.test.ts):
// every bad value ends `serve` at once with status 2 and names the field and where it came from.
// test/exporter/sharding.test.ts runs good values, including the index taken from $HOSTNAME.

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-shard-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Case = [args: string[], env: Record<string, string>, message: string];

describe.concurrent('etcd-monitor serve exits with status 2 on a bad shard', () => {
  it.for<Case>([
    [['--shard-count', '3', '--shard-index', '3'], {}, '--shard-index: must be below --shard-count 3, got 3'],
    [['--shard-count', '3', '--shard-index', '-1'], {}, '--shard-index: must be between 0 and 999, got -1'],
    [['--shard-count', '3', '--shard-index', '1.5'], {}, '--shard-index: expected a whole number, got "1.5"'],
    [['--shard-count', 'three'], {}, '--shard-count: expected a whole number, got "three"'],
    [['--shard-count', '0'], {}, '--shard-count: must be between 1 and 1000, got 0'],
    [
      [],
      { ETCD_MONITOR_SHARD_COUNT: '2', ETCD_MONITOR_SHARD_INDEX: '2' },
      'ETCD_MONITOR_SHARD_INDEX: must be below --shard-count 2, got 2',
    ],
    [
      ['--shard-count', '3'],
      { HOSTNAME: 'etcd-monitor-5f7d9c-abcde' },
      '--shard-index: not given, and $HOSTNAME "etcd-monitor-5f7d9c-abcde" has no StatefulSet ordinal',
    ],
    [['--shard-count', '3'], {}, '--shard-index: not given, and $HOSTNAME "" has no StatefulSet ordinal'],
    [
      ['--shard-count', '3'],
      { HOSTNAME: 'etcd-monitor-3' },
      '--shard-index: the ordinal 3 of $HOSTNAME "etcd-monitor-3" must be below --shard-count 3',
    ],
  ])('%j with env %j: %s', async ([args, env, message], { expect }) => {
    const run = await cli(['serve', ...args], env);
    expect(run.stderr).toContain(`invalid configuration: ${message}`);
    expect(run.status).toBe(2);
  });

  it('a shard_index in the config file at or above shard_count names the file and key', async ({
    expect,
  }) => {
    const file = path.join(dir, 'shard.yaml');
    writeFileSync(file, 'shard_count: 2\nshard_index: 2\n');
    const run = await cli(['serve', '--config', file]);
    expect(run.stderr).toContain(
      `invalid configuration: ${file}: shard_index: must be below --shard-count 2`,
    );
    expect(run.status).toBe(2);
  });
});
