// `make demo`: a local 3-member etcd cluster, the exporter, Prometheus (with the bundled rules rendered
// with 15 s `for:`) and Alertmanager (the shipped routing, notifying a sink in this process that prints
// each notification) on loopback. Ctrl-C stops every process and removes all temporary data.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCluster, type Member } from '../harness/etcd-cluster.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../harness/processes.js';
import { renderRules } from '../src/alerts/rules/render.js';
import { writeDemoAlertmanagerConfig } from './demo/alertmanager-config.js';
import { startDemoSink, type DemoSink } from './demo/sink.js';
import { alertmanagerUi, prometheusPages, tryThis } from './demo/banner.js';

const ROOT = resolve(import.meta.dirname, '..');
/** Every non-zero `for:` of the demo's rule set (the shipped ones wait 1 to 60 minutes). */
const DEMO_FOR_MS = 15_000;

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
  const members = cluster.members as Member[];
  let sink: DemoSink | undefined;
  let watcher: NodeJS.Timeout | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(watcher);
    console.log('\nstopping ...');
    for (const proc of procs.reverse()) await terminate(proc, 'SIGTERM', 5000);
    await sink?.close();
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

    // The `kill <pid>` of the "try this" is noticed here; the sink's /members/<name>/start undoes it.
    sink = await startDemoSink(async (name) => {
      const member = members.find((m) => m.name === name);
      if (!member) throw new Error(`no member ${name}; members: ${members.map((m) => m.name).join(', ')}`);
      await cluster.restart(member.index);
      return `${name} started again (pid ${member.proc?.pid}) and healthy`;
    });
    const wasRunning = members.map(() => true);
    watcher = setInterval(() => {
      for (const m of members) {
        if (m.running === wasRunning[m.index]) continue;
        wasRunning[m.index] = m.running;
        const at = new Date().toISOString().slice(11, 19);
        console.log(`${at} etcd member ${m.name} ${m.running ? `started (pid ${m.proc?.pid})` : 'stopped'}`);
      }
    }, 500);

    const amUrl = `http://127.0.0.1:${alertmanagerPort}`;
    const am = writeDemoAlertmanagerConfig(ROOT, dir, sink.url, exporterUrl);
    const alertmanager = spawnTracked(
      'prometheus-alertmanager',
      [
        `--config.file=${am.file}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        `--web.external-url=${amUrl}`,
        '--cluster.listen-address=',
      ],
      { label: 'alertmanager' },
    );
    procs.push(alertmanager);
    await waitHttp(`${amUrl}/-/ready`, 'alertmanager', alertmanager);

    const promUrl = `http://127.0.0.1:${prometheusPort}`;
    const promConfig = join(dir, 'prometheus.yml');
    const rulesFile = join(dir, 'etcd-monitor.rules.yml');
    writeFileSync(rulesFile, renderRules({ forOverrideMs: DEMO_FOR_MS }).rulesYaml);
    writeFileSync(
      promConfig,
      [
        'global:',
        '  scrape_interval: 5s',
        '  evaluation_interval: 5s',
        'rule_files:',
        `  - ${rulesFile}`,
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
    const leader = await cluster.leaderIndex();

    const amUi = await alertmanagerUi(amUrl);
    const prom = await prometheusPages(promUrl);
    const follower = members.find((m) => m.index !== leader) as Member;
    console.log(`
etcd-monitor demo is running (Ctrl-C stops everything and removes ${dir}):

  etcd members      ${members.map((m) => `${m.name} ${m.clientUrl} (pid ${m.proc?.pid})`).join('\n                    ')}
  status page       ${exporterUrl}/
  metrics           ${exporterUrl}/metrics
  cluster status    ${exporterUrl}/api/v1/cluster/status
  alert history     ${exporterUrl}/api/v1/alerts/history
  Prometheus        ${prom.home ?? `${promUrl}/api/v1/rules   (the API: this Prometheus package has no web UI)`}
  alerts page       ${prom.alerts}   ${prom.note}
  Alertmanager API  ${amUrl}/api/v2/alerts   ${amUi ? `web UI: ${amUi}` : "(the API: Debian's Alertmanager package has no web UI)"}
  list alerts       amtool alert query --alertmanager.url=${amUrl}
${tryThis({ follower, pid: follower.proc?.pid ?? 0, sinkUrl: sink.url, forMs: DEMO_FOR_MS, rulesFile, am: am.timings })}`);
    await new Promise(() => undefined);
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`);
    await stop();
  }
}

void main();
