import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Argv } from 'yargs';
import { benchCommand } from '../../src/loadgen/commands.js';
import { benchOptionsFromFlags, parseWorkload, type BenchFlags } from '../../src/loadgen/options.js';
import { givenFlags, withConfigFlags } from '../../src/config/flags.js';
import { resolveConfig } from '../../src/config/resolve.js';
import {
  ROOT,
  bindMounts,
  composeConfig,
  flagsOf,
  publishedPorts,
  run,
  type ComposeConfig,
  type ComposeService,
} from './compose-files.js';

const promConfig = () =>
  yaml.load(readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    scrape_configs: Array<{
      job_name: string;
      honor_labels?: boolean;
      static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
    }>;
  };

let config: ComposeConfig;
let tmp: string;
const service = (name: string): ComposeService => {
  const s = config.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};
/** Flags of a service's command, as the exporter's flag parser would receive them. */
const flagsFromCommand = (name: string): Record<string, unknown> =>
  Object.fromEntries(flagsOf(service(name).command ?? []));
const helpOf = async (bin: string) => {
  // Some of these print --help on stderr and exit non-zero; either way the text is what matters.
  const r = await run(bin, ['--help']).catch((err: { stdout?: string; stderr?: string }) => err);
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
  config = await composeConfig();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('docker-compose.yml', () => {
  it('is valid for docker-compose, with and without the example .env', async () => {
    expect(Object.keys(config.services).sort()).toEqual(
      ['alertmanager', 'bench', 'etcd-1', 'etcd-2', 'etcd-3', 'exporter', 'grafana', 'prometheus'].sort(),
    );
    const withEnv = await composeConfig(path.join(ROOT, '.env.example'));
    expect(Object.keys(withEnv.services).length).toBe(8);
    expect(service('bench').profiles).toEqual(['bench']);
  });

  it('mounts only files and directories that exist in the repository, with the right kind', () => {
    const mounts = bindMounts(config);
    expect(mounts.length).toBeGreaterThanOrEqual(6);
    for (const m of mounts) {
      expect(
        m.source.startsWith(ROOT + path.sep),
        `${m.service}: ${m.source} is outside the repository`,
      ).toBe(true);
      expect(existsSync(m.source), `${m.service}: ${path.relative(ROOT, m.source)} does not exist`).toBe(
        true,
      );
      // A target named like a file (has an extension) must be fed by a file, anything else by a directory.
      const wantsFile = /\.[a-z]+$/.test(path.basename(m.target));
      expect(statSync(m.source).isFile(), `${m.service}: ${m.source} → ${m.target}`).toBe(wantsFile);
    }
  });

  it('publishes no host port twice and keeps data in named volumes', () => {
    const ports = publishedPorts(config);
    const keys = ports.map((p) => `${p.hostIp}:${p.hostPort}`);
    expect(new Set(keys).size, keys.join(' ')).toBe(keys.length);
    for (const p of ports) expect(p.hostIp).toBe('127.0.0.1');
    const volumes = Object.keys(config.volumes ?? {});
    expect(volumes).toEqual(expect.arrayContaining(['prometheus-data', 'grafana-data']));
    expect(service('prometheus').volumes).toContain('prometheus-data:/prometheus:rw');
    expect(service('grafana').volumes).toContain('grafana-data:/var/lib/grafana:rw');
  });

  it("passes the exporter only flags the exporter's own parser accepts, with valid values", async () => {
    const exporter = service('exporter');
    expect(exporter.build).toBeDefined();
    const [sub, ...args] = exporter.command ?? [];
    expect(sub).toBe('serve');
    const argv = await withConfigFlags(yargs(args))
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
    const dockerfileEnv = Object.fromEntries(
      [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/(ETCD_MONITOR_[A-Z_]+)=(\S+)/g)].map(
        (m) => [m[1]!, m[2]!],
      ),
    );
    const resolved = resolveConfig({
      flags: givenFlags(argv as Record<string, unknown>),
      env: dockerfileEnv,
    });
    const etcdServices = Object.keys(config.services).filter((s) => s.startsWith('etcd-'));
    expect(resolved.clusters[0]?.endpoints).toEqual(etcdServices.map((s) => `http://${s}:2379`));
    expect(resolved.clusters[0]?.expectedMembers).toBe(etcdServices.length);
    expect(resolved.api.port).toBe(8080);
    expect(exporter.ports).toContain(`127.0.0.1:${resolved.api.port}:${resolved.api.port}/tcp`);
    expect(exporter.volumes?.some((v) => v.split(':')[1] === resolved.dataDir)).toBe(true);
  });

  it("gives the benchmark sidecar only flags `etcd-monitor bench` accepts, scraped as the exporter's cluster", async () => {
    const bench = service('bench');
    expect(bench.build).toEqual(service('exporter').build);
    const [sub, ...args] = bench.command ?? [];
    expect(sub).toBe('bench');
    const builder = benchCommand.builder as (y: Argv) => Argv;
    const argv = (await builder(yargs(args))
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync()) as Record<string, unknown>;
    expect(argv.serve).toBe(true);
    const flags = givenFlags(argv);
    const resolved = resolveConfig({ flags, env: {} });
    const options = benchOptionsFromFlags({ ...(flags as BenchFlags), type: 'write' }, resolved);
    expect(options.endpoints).toEqual(
      resolveConfig({ flags: flagsFromCommand('exporter'), env: {} }).clusters[0]?.endpoints,
    );
    for (const t of String(argv.type).split(',')) expect(parseWorkload(t)).toBe(t);
    const port = Number(/:(\d+)$/.exec(String(argv.listen))?.[1]);
    expect(bench.ports).toContain(`127.0.0.1:${port}:${port}/tcp`);
    const job = promConfig().scrape_configs.find((j) => j.job_name === 'etcd-monitor-benchmark');
    expect(job?.static_configs[0]?.targets).toEqual([`bench:${port}`]);
    expect(job?.static_configs[0]?.labels?.cluster).toBe(
      flagsOf(service('exporter').command ?? []).get('cluster-name'),
    );
  });

  it('gives etcd, Prometheus and Alertmanager only flags their binaries know', async () => {
    // Debian's binaries are older than the images (etcd 3.4 vs 3.5, Prometheus 2.42 vs 2.53, Alertmanager
    // 0.25 vs 0.27); a flag the old one knows is still accepted by the newer one.
    const checks: Array<[string, string[]]> = [
      ['etcd', ['etcd-1', 'etcd-2', 'etcd-3']],
      ['prometheus', ['prometheus']],
      ['prometheus-alertmanager', ['alertmanager']],
    ];
    for (const [bin, services] of checks) {
      const help = await helpOf(bin);
      expect(help.length, `${bin} --help`).toBeGreaterThan(200);
      for (const name of services) {
        for (const flag of flagsOf(service(name).command ?? []).keys()) {
          expect(help, `${name}: --${flag}`).toMatch(new RegExp(`--${flag.replace(/\./g, '\\.')}\\b`));
        }
      }
    }
    const cluster = flagsOf(service('etcd-1').command ?? []).get('initial-cluster') ?? '';
    for (const name of ['etcd-1', 'etcd-2', 'etcd-3']) {
      const flags = flagsOf(service(name).command ?? []);
      expect(flags.get('name')).toBe(name);
      expect(flags.get('initial-cluster')).toBe(cluster);
      expect(cluster).toContain(`${name}=${flags.get('initial-advertise-peer-urls')}`);
    }
  });
});

describe('Prometheus, Alertmanager and Grafana wiring', () => {
  it('prometheus.yml scrapes the exporter service and alerts the Alertmanager service', () => {
    const p = promConfig();
    const targets = (job: string) =>
      p.scrape_configs.find((s) => s.job_name === job)?.static_configs.flatMap((c) => c.targets);
    expect(targets('etcd-monitor')).toEqual(['exporter:8080']);
    // Relayed member series keep their instance (the member's host:port), as the README tells users.
    expect(p.scrape_configs.find((s) => s.job_name === 'etcd-monitor')?.honor_labels).toBe(true);
    expect(p.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['alertmanager:9093']);
    expect(service('alertmanager').ports).toContain('127.0.0.1:9093:9093/tcp');
  });

  it('prometheus.yml is valid and loads the bundled alert rules from the mounted directory', async () => {
    const p = promConfig();
    const rulesMount = bindMounts(config).find(
      (m) => m.service === 'prometheus' && m.source === path.join(ROOT, 'alert-rules'),
    );
    expect(rulesMount, 'alert-rules/ is mounted into Prometheus').toBeDefined();
    for (const glob of p.rule_files) expect(glob.startsWith(`${rulesMount!.target}/`)).toBe(true);
    // Point the globs at the repository and let promtool load the rule files the container would load.
    const local = readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8').replaceAll(
      `${rulesMount!.target}/`,
      `${path.join(ROOT, 'alert-rules')}/`,
    );
    const file = path.join(tmp, 'prometheus.yml');
    writeFileSync(file, local);
    const { stdout } = await run('promtool', ['check', 'config', file]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the Alertmanager entrypoint builds a valid config with and without receiver secrets', async () => {
    const am = service('alertmanager');
    const entry = bindMounts(config).find(
      (m) => m.service === 'alertmanager' && am.entrypoint?.includes(m.target),
    );
    const source = bindMounts(config).find(
      (m) => m.service === 'alertmanager' && m.source === path.join(ROOT, 'alertmanager'),
    );
    expect(entry && source, 'entrypoint script and alertmanager/ are mounted').toBeTruthy();
    const exporterUrl = 'http://exporter:8080/api/v1/alerts/webhook';
    const generate = async (name: string, env: Record<string, string>) => {
      const out = path.join(tmp, name);
      await run('sh', [entry!.source], {
        env: {
          PATH: process.env.PATH,
          ETCD_MONITOR_AM_SOURCE: source!.source,
          ETCD_MONITOR_AM_OUT: out,
          ALERTMANAGER_BIN: 'true',
          ...env,
        },
      });
      const { stdout } = await run('amtool', ['check-config', path.join(out, 'alertmanager.yml')]);
      expect(stdout).toContain('SUCCESS');
      return { out, text: readFileSync(path.join(out, 'alertmanager.yml'), 'utf8') };
    };

    const sink = await generate('sink', {});
    const sinkConfig = yaml.load(sink.text) as {
      receivers: Array<{ name: string; webhook_configs: Array<{ url: string }> }>;
    };
    expect(sinkConfig.receivers.flatMap((r) => r.webhook_configs.map((w) => w.url))).toEqual([exporterUrl]);

    const full = await generate('full', {
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x?a=1&b=2',
      PAGERDUTY_ROUTING_KEY: 'pd-key',
      SMTP_PASSWORD: 'secret',
      SMTP_SMARTHOST: 'smtp.example.org:587',
      ALERT_EMAIL_TO: 'oncall@example.org',
    });
    expect(full.text).not.toContain('/etc/alertmanager/secrets/');
    expect(full.text).not.toContain('127.0.0.1:8080');
    expect(full.text).toContain(exporterUrl);
    expect(full.text).toContain('smtp_smarthost: smtp.example.org:587');
    expect(full.text).toContain('- to: oncall@example.org');
    expect(full.text).not.toContain('pd-key');
    expect(readFileSync(path.join(full.out, 'secrets/slack-webhook-url'), 'utf8').trim()).toBe(
      'https://hooks.slack.com/services/T0/B0/x?a=1&b=2',
    );
    expect(readFileSync(path.join(full.out, 'secrets/pagerduty-routing-key'), 'utf8').trim()).toBe('pd-key');
  });

  it('Grafana provisioning points at the Prometheus service and the mounted dashboards', () => {
    const ds = yaml.load(
      readFileSync(path.join(ROOT, 'dashboards/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const provider = yaml.load(
      readFileSync(path.join(ROOT, 'dashboards/provisioning/dashboards/etcd-monitor.yml'), 'utf8'),
    ) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const mount = bindMounts(config).find(
      (m) => m.service === 'grafana' && m.source === path.join(ROOT, 'dashboards'),
    );
    expect(provider.providers[0]?.options.path).toBe(mount?.target);
    const home = service('grafana').environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(existsSync(path.join(ROOT, 'dashboards', path.relative(mount!.target, home)))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const text = () => readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('is multi-stage on Node 20 slim, runs as a non-root user and has a HEALTHCHECK on /health', () => {
    const froms = [...text().matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toBe('node:20-slim');
    const users = [...text().matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(['root', '0']).not.toContain(users.at(-1));
    expect(text()).toMatch(/^HEALTHCHECK .*\n?.*\/health\b/m);
    expect(readFileSync(path.join(ROOT, 'src/server/app.ts'), 'utf8')).toContain("app.get('/health'");
  });

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist']));
    const sources = [...text().matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap((m) =>
      m[1]!.trim().split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) {
      expect(existsSync(path.join(ROOT, src)), `COPY ${src}`).toBe(true);
      expect(ignored, `COPY ${src} is excluded by .dockerignore`).not.toContain(src);
    }
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toBeDefined();
    expect(text()).toContain(
      'ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=25", "bin/etcd-monitor.js"]',
    );
    expect(existsSync(path.join(ROOT, 'bin/etcd-monitor.js'))).toBe(true);
  });
});
