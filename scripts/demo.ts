// `make demo`: a local 3-member etcd cluster, the exporter, Prometheus (with the bundled rules) and
// Alertmanager on loopback. Ctrl-C stops every process and removes all temporary data.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCluster } from '../harness/etcd-cluster.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../harness/processes.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The conventional port when it is free, otherwise any free one. */
async function preferPort(port: number): Promise<number> {
  const free = await new Promise<boolean>((done) => {
    const server = createServer()
      .once('error', () => done(false))
      .listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
  return free ? port : freePort();
}

async function waitHttp(url: string, what: string, proc: TrackedProcess): Promise<void> {
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`${what} exited:\n${proc.output()}`);
      return (await fetch(url).catch(() => undefined))?.ok === true;
    },
    { what, timeoutMs: 60_000, intervalMs: 300 },
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-demo-'));
  const procs: TrackedProcess[] = [];
  console.log('starting a 3-member etcd cluster on loopback ...');
  const cluster = await startCluster({ size: 3, name: 'demo' });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ...');
    for (const proc of procs.reverse()) await terminate(proc, 'SIGTERM', 5000);
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
    console.log('stopped; temporary data removed.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  try {
    const [exporterPort, prometheusPort, alertmanagerPort] = [
      await preferPort(8080),
      await preferPort(9090),
      await preferPort(9093),
    ];
    const exporterUrl = `http://127.0.0.1:${exporterPort}`;
    const exporter = spawnTracked(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli.ts'),
        '--endpoints',
        cluster.endpoints.join(','),
        '--cluster-name',
        'demo',
        '--api-host',
        '127.0.0.1',
        '--api-port',
        String(exporterPort),
        '--health-check-interval',
        '5s',
        '--metrics-interval',
        '5s',
        '--data-dir',
        join(dir, 'exporter'),
        '--log-format',
        'pretty',
      ],
      { label: 'exporter', cwd: ROOT },
    );
    procs.push(exporter);
    await waitHttp(`${exporterUrl}/ready`, 'exporter', exporter);

    const amUrl = `http://127.0.0.1:${alertmanagerPort}`;
    const amConfig = join(dir, 'alertmanager.yml');
    // The demo has no Slack/PagerDuty/SMTP secrets: every notification goes to the exporter's history.
    writeFileSync(
      amConfig,
      [
        'route:',
        '  receiver: history',
        '  group_by: [cluster, alertname]',
        '  group_wait: 10s',
        '  group_interval: 1m',
        '  repeat_interval: 5m',
        'receivers:',
        '  - name: history',
        '    webhook_configs:',
        `      - url: ${exporterUrl}/api/v1/alerts/webhook`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const alertmanager = spawnTracked(
      'prometheus-alertmanager',
      [
        `--config.file=${amConfig}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        '--cluster.listen-address=',
      ],
      { label: 'alertmanager' },
    );
    procs.push(alertmanager);
    await waitHttp(`${amUrl}/-/ready`, 'alertmanager', alertmanager);

    const promUrl = `http://127.0.0.1:${prometheusPort}`;
    const promConfig = join(dir, 'prometheus.yml');
    writeFileSync(
      promConfig,
      [
        'global:',
        '  scrape_interval: 5s',
        '  evaluation_interval: 5s',
        'rule_files:',
        `  - ${join(ROOT, 'alert-rules/etcd-monitor.rules.yml')}`,
        'alerting:',
        '  alertmanagers:',
        `    - static_configs: [{ targets: ['127.0.0.1:${alertmanagerPort}'] }]`,
        'scrape_configs:',
        '  - job_name: etcd-monitor',
        // As prometheus/prometheus.yml: relayed member series keep instance = the member's host:port.
        '    honor_labels: true',
        `    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]`,
        '',
      ].join('\n'),
    );
    const prometheus = spawnTracked(
      'prometheus',
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { label: 'prometheus' },
    );
    procs.push(prometheus);
    await waitHttp(`${promUrl}/-/ready`, 'prometheus', prometheus);

    console.log(`
etcd-monitor demo is running (Ctrl-C stops everything and removes ${dir}):

  etcd members      ${cluster.endpoints.join('  ')}
  exporter          ${exporterUrl}/            metrics: ${exporterUrl}/metrics
  cluster status    ${exporterUrl}/api/v1/cluster/status
  alert history     ${exporterUrl}/api/v1/alerts/history
  Prometheus        ${promUrl}/            alerts: ${promUrl}/alerts
  Alertmanager      ${amUrl}/

Try a fault: pkill -f -- '--name=${cluster.members[1]?.name}'   (stops one member)
then watch ${exporterUrl}/api/v1/cluster/status and ${promUrl}/alerts.
`);
    await new Promise(() => undefined);
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`);
    await stop();
  }
}

void main();
