import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cli } from './cli-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Concurrent: each case is a separate Node process that mostly waits on module loading.
describe.concurrent('etcd-monitor CLI exits with status 2 on bad configuration', () => {
  it('a flag value that is not a number names the flag', async ({ expect }) => {
    const run = await cli(['--max-latency-ms', 'abc']);
    expect(run.stderr).toContain(
      'invalid configuration: --max-latency-ms: expected a whole number, got "abc"',
    );
    expect(run.status).toBe(2);
  });

  it('an unknown flag', async ({ expect }) => {
    const run = await cli(['--max-latncy-ms', '100']);
    expect(run.stderr).toBe(
      'etcd-monitor: Unknown flag --max-latncy-ms — did you mean --max-latency-ms? (run "etcd-monitor --help" for usage)\n',
    );
    expect(run.status).toBe(2);
  });

  it('a bad value in the YAML file names the file and the key', async ({ expect }) => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'api_port: 80800\n');
    const run = await cli(['--config', file]);
    expect(run.stderr).toContain(
      `invalid configuration: ${file}: api_port: must be between 0 and 65535, got 80800`,
    );
    expect(run.status).toBe(2);
  });

  it('a bad cluster in the YAML file named through ETCD_MONITOR_CONFIG', async ({ expect }) => {
    const file = path.join(dir, 'clusters.yaml');
    writeFileSync(
      file,
      'clusters:\n  - name: a\n    endpoints: [127.0.0.1:2379]\n  - name: b\n    endpoints: [127.0.0.1]\n',
    );
    const run = await cli([], { ETCD_MONITOR_CONFIG: file });
    expect(run.stderr).toContain(`${file}: clusters[1].endpoints: "127.0.0.1" needs a port`);
    expect(run.status).toBe(2);
  });

  it("a bad per-cluster threshold names the cluster's field", async ({ expect }) => {
    const file = path.join(dir, 'thresholds.yaml');
    writeFileSync(
      file,
      'clusters:\n  - name: a\n    endpoints: [127.0.0.1:2379]\n  - name: b\n    endpoints: [127.0.0.1:2380]\n    max_db_size_mb: 0\n',
    );
    const run = await cli(['--config', file]);
    expect(run.stderr).toContain(
      `invalid configuration: ${file}: clusters[1].max_db_size_mb: must be between 1 and 1048576, got 0`,
    );
    expect(run.status).toBe(2);
  });

  it('a bad environment variable names the variable', async ({ expect }) => {
    const run = await cli([], { ETCD_MONITOR_API_PORT: 'eighty' });
    expect(run.stderr).toContain('invalid configuration: ETCD_MONITOR_API_PORT:');
    expect(run.status).toBe(2);
  });
});
