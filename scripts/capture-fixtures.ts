// Captures raw etcd responses (metrics text and gRPC-gateway JSON) from real clusters so parser tests can run
// against exactly what etcd emits. Usage: npx tsx scripts/capture-fixtures.ts [outDir]
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3, type Watcher } from 'etcd3';
import { fetch } from 'undici';
import { ETCD_BIN, startCluster, type EtcdCluster, type MemberHandle } from '../harness/etcd-cluster.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETTLE_MS = 5_000;
const NOSPACE_QUOTA_BYTES = 1_000_000;

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

async function post(url: string, body: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status}`);
  return res.text();
}

/**
 * Ordinary client traffic, so request, lease and watch metrics are not all zero. Returns the still-open
 * watcher: it stays open through the capture so the watcher/watch-stream gauges show a live watch.
 */
async function generateTraffic(client: Etcd3): Promise<Watcher> {
  const watcher = await client.watch().prefix('fixtures/').create();
  let events = 0;
  watcher.on('data', (res) => (events += res.events.length));
  for (let i = 0; i < 20; i++) await client.put(`fixtures/key-${i}`).value(`value-${i}`);
  for (let i = 0; i < 20; i++) await client.get(`fixtures/key-${i}`).string();
  await client.getAll().prefix('fixtures/').keys();
  const lease = client.lease(60, { autoKeepAlive: false });
  await lease.put('fixtures/leased').value('alive');
  await lease.keepaliveOnce();
  await client.delete().key('fixtures/key-0');
  const deadline = Date.now() + 5_000;
  while (events < 22 && Date.now() < deadline) await sleep(50);
  return watcher;
}

async function captureHealthyCluster(cluster: EtcdCluster, outDir: string): Promise<void> {
  const client = new Etcd3({ hosts: cluster.endpoints });
  try {
    const watcher = await generateTraffic(client);
    await sleep(SETTLE_MS);

    const leaderIdx = await cluster.leaderIndex();
    const leader = cluster.members[leaderIdx] as MemberHandle;
    const follower = cluster.members.find((m) => m.index !== leaderIdx) as MemberHandle;
    const captures: [string, Promise<string>][] = [
      ['leader-metrics.txt', get(`${leader.clientUrl}/metrics`)],
      ['follower-metrics.txt', get(`${follower.clientUrl}/metrics`)],
      ['status-leader.json', post(`${leader.clientUrl}/v3/maintenance/status`, '{}')],
      ['status-follower.json', post(`${follower.clientUrl}/v3/maintenance/status`, '{}')],
      ['member-list.json', post(`${leader.clientUrl}/v3/cluster/member/list`, '{}')],
      ['alarm-list.json', post(`${leader.clientUrl}/v3/maintenance/alarm`, '{"action":"GET"}')],
      ['health.json', get(`${leader.clientUrl}/health`)],
      ['version.json', get(`${leader.clientUrl}/version`)],
    ];
    const bodies = await Promise.all(captures.map(([, body]) => body));
    await Promise.all(captures.map(([name], k) => writeFile(path.join(outDir, name), bodies[k] as string)));
    await watcher.cancel();
  } finally {
    client.close();
  }
}

async function captureNospace(cluster: EtcdCluster, outDir: string): Promise<void> {
  const client = new Etcd3({ hosts: cluster.endpoints });
  const value = 'x'.repeat(100_000);
  let filled = false;
  try {
    for (let i = 0; i < 100 && !filled; i++) {
      await client
        .put(`fill/${i}`)
        .value(value)
        .catch((err: unknown) => {
          if (!/database space exceeded/.test(String(err))) throw err;
          filled = true;
        });
    }
  } finally {
    client.close();
  }
  if (!filled) throw new Error(`a ${NOSPACE_QUOTA_BYTES}-byte quota never filled up`);
  const url = cluster.endpoints[0] as string;
  await writeFile(
    path.join(outDir, 'nospace-alarm-list.json'),
    await post(`${url}/v3/maintenance/alarm`, '{"action":"GET"}'),
  );
  await writeFile(path.join(outDir, 'nospace-status.json'), await post(`${url}/v3/maintenance/status`, '{}'));
}

function readme(etcdVersion: string, versionJson: string, capturedAt: string): string {
  const minor = /etcd Version: (\d+\.\d+)/.exec(etcdVersion)?.[1] ?? 'unknown';
  return `# etcd ${minor} fixtures

Raw responses captured from real etcd processes by \`scripts/capture-fixtures.ts\`. **They are unedited**:
each file holds the response body byte for byte as etcd returned it. Regenerate them rather than editing.

- Captured: ${capturedAt}
- Command: \`ETCD_BIN=<etcd ${minor}> npx tsx scripts/capture-fixtures.ts test/fixtures/etcd-${minor}\` (from the repository root)
- Binary (\`etcd --version\`):

\`\`\`
${etcdVersion.trim()}
\`\`\`

- \`GET /version\`: \`${versionJson.trim()}\`

## What was captured

A 3-member cluster on 127.0.0.1 (plain HTTP, default heartbeat 100 ms / election 1000 ms) after some traffic
(20 puts, 20 gets, a range, a 60 s lease with one keep-alive, a delete) and a ${SETTLE_MS / 1000} s pause; a prefix
watch and the lease were still open while it was captured:

| File | Request |
| --- | --- |
| \`leader-metrics.txt\` | \`GET {leader client URL}/metrics\` |
| \`follower-metrics.txt\` | \`GET {follower client URL}/metrics\` |
| \`status-leader.json\` | \`POST {leader client URL}/v3/maintenance/status\` body \`{}\` |
| \`status-follower.json\` | \`POST {follower client URL}/v3/maintenance/status\` body \`{}\` |
| \`member-list.json\` | \`POST /v3/cluster/member/list\` body \`{}\` |
| \`alarm-list.json\` | \`POST /v3/maintenance/alarm\` body \`{"action":"GET"}\` |
| \`health.json\` | \`GET /health\` |
| \`version.json\` | \`GET /version\` |

A separate 1-member cluster with \`--quota-backend-bytes=${NOSPACE_QUOTA_BYTES}\`, filled with 100 kB values until
puts failed with \`mvcc: database space exceeded\`:

| File | Request |
| --- | --- |
| \`nospace-alarm-list.json\` | \`POST /v3/maintenance/alarm\` body \`{"action":"GET"}\` |
| \`nospace-status.json\` | \`POST /v3/maintenance/status\` body \`{}\` |

Note the gRPC-gateway JSON of etcd ${minor}: 64-bit integers are strings, response headers use snake_case
(\`cluster_id\`, \`member_id\`, \`raft_term\`) while top-level fields are camelCase (\`dbSize\`, \`raftTerm\`), zero
values are omitted (an empty alarm list is \`{}\`), and alarm types are enum names (\`"NOSPACE"\`).
`;
}

async function main(): Promise<void> {
  const { stdout: etcdVersion } = await execFileAsync(ETCD_BIN, ['--version']);
  const minor = /etcd Version: (\d+\.\d+)/.exec(etcdVersion)?.[1];
  if (!minor) throw new Error(`cannot parse etcd --version output:\n${etcdVersion}`);
  const outDir = path.resolve(process.argv[2] ?? path.join(repoRoot, 'test', 'fixtures', `etcd-${minor}`));
  await mkdir(outDir, { recursive: true });
  const capturedAt = new Date().toISOString();

  const cluster = await startCluster({ size: 3, name: 'fixtures' });
  try {
    await captureHealthyCluster(cluster, outDir);
  } finally {
    await cluster.destroy();
  }
  const small = await startCluster({
    size: 1,
    name: 'fixtures-nospace',
    quotaBackendBytes: NOSPACE_QUOTA_BYTES,
  });
  try {
    await captureNospace(small, outDir);
  } finally {
    await small.destroy();
  }

  const versionJson = await readFile(path.join(outDir, 'version.json'), 'utf8');
  await writeFile(path.join(outDir, 'README.md'), readme(etcdVersion, versionJson, capturedAt));
  console.log(`fixtures written to ${path.relative(repoRoot, outDir) || outDir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
