import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRules } from '../../src/alerts/rules/render.js';
import { SHIPPED_ALERTMANAGER_CONFIG, SHIPPED_ALERTMANAGER_DIR } from '../support/alertmanager.js';

const AMTOOL = process.env.AMTOOL_BIN ?? 'amtool';
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25');

function amtool(args: string[]): { status: number | null; out: string } {
  const run = spawnSync(AMTOOL, args, { encoding: 'utf8', timeout: 30_000 });
  if (run.error)
    throw new Error(`amtool could not run (${run.error.message}); install prometheus-alertmanager`);
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

type Yaml = Record<string, unknown>;
let config: Yaml;
beforeAll(async () => {
  // Fail loudly, not skip, when the tool is missing.
  expect(execFileSync(AMTOOL, ['--version'], { encoding: 'utf8', stdio: 'pipe' })).toBeDefined();
  config = yaml.load(await readFile(SHIPPED_ALERTMANAGER_CONFIG, 'utf8')) as Yaml;
});

describe('shipped alertmanager.yml', () => {
  it('passes amtool check-config, templates included', () => {
    const { status, out } = amtool(['check-config', SHIPPED_ALERTMANAGER_CONFIG]);
    expect(out).toContain('SUCCESS');
    expect(out).toContain('1 templates');
    expect(status).toBe(0);
  });

  const HISTORY = 'etcd-monitor-history';
  const DEADMANS_SWITCH = 'deadmans-switch';
  it.each([
    [{ alertname: 'EtcdQuorumLost', severity: 'critical' }, [HISTORY, 'critical']],
    [{ alertname: 'EtcdNoLeader', severity: 'critical' }, [HISTORY, 'critical']],
    [{ alertname: 'EtcdHighFsyncDurations', severity: 'critical', member: 'm1' }, [HISTORY, 'critical']],
    [{ alertname: 'EtcdHighFsyncDurations', severity: 'warning', member: 'm1' }, [HISTORY, 'warning']],
    [{ alertname: 'EtcdMembersDown', severity: 'warning', member: 'm1' }, [HISTORY, 'warning']],
    [{ alertname: 'EtcdDatabaseQuotaLowSpace', severity: 'info', member: 'm1' }, [HISTORY, 'info']],
    // The watchdog reaches the dead-man's switch only: not the history, not a person.
    [{ alertname: 'EtcdMonitorWatchdog', severity: 'info' }, [DEADMANS_SWITCH]],
    [{ alertname: 'EtcdMonitorWatchdog', severity: 'critical', member: 'm1' }, [DEADMANS_SWITCH]],
    // No or an unknown severity must still reach people rather than vanish.
    [{ alertname: 'SomethingElse' }, [HISTORY, 'warning']],
    [{ alertname: 'SomethingElse', severity: 'page' }, [HISTORY, 'warning']],
  ])('routes %o to %o (amtool config routes test)', (labels, receivers) => {
    const pairs = Object.entries({ cluster: 'prod', ...labels }).map(([k, v]) => `${k}=${v}`);
    const args = ['config', 'routes', 'test', `--config.file=${SHIPPED_ALERTMANAGER_CONFIG}`];
    const ok = amtool([...args, `--verify.receivers=${receivers.join(',')}`, ...pairs]);
    expect(ok.out.trim().split('\n')[0]).toBe(receivers.join(','));
    expect(ok.status).toBe(0);
    // The check has teeth: a wrong expectation makes amtool fail.
    const wrong = amtool([...args, '--verify.receivers=nobody', ...pairs]);
    expect(wrong.status).toBe(1);
  });

  it('routes every bundled alert rule to the receivers of its severity', () => {
    const expected: Record<string, string> = {
      critical: `${HISTORY},critical`,
      warning: `${HISTORY},warning`,
      info: `${HISTORY},info`,
    };
    const seen = new Set<string>();
    for (const group of renderRules().groups) {
      for (const rule of group.rules) {
        if (!('alert' in rule)) continue;
        const labels: Record<string, string> = { cluster: 'prod', ...rule.labels, alertname: rule.alert };
        const key = JSON.stringify(labels);
        if (seen.has(key)) continue;
        seen.add(key);
        const want = rule.alert === 'EtcdMonitorWatchdog' ? DEADMANS_SWITCH : expected[labels.severity ?? ''];
        expect(want, `${rule.alert} has severity ${labels.severity}`).toBeDefined();
        const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
        const { status, out } = amtool([
          'config',
          'routes',
          'test',
          `--config.file=${SHIPPED_ALERTMANAGER_CONFIG}`,
          `--verify.receivers=${want}`,
          ...pairs,
        ]);
        expect({ alert: rule.alert, status, out: out.trim().split('\n')[0] }).toEqual({
          alert: rule.alert,
          status: 0,
          out: want,
        });
      }
    }
    expect(seen.size).toBeGreaterThan(20);
  });

  it("re-sends the history every minute, well within the exporter's 5m --alerts.resolve-timeout", () => {
    const routes = (config.route as Yaml).routes as Yaml[];
    const history = routes.find((r) => r.receiver === HISTORY);
    expect(history).toMatchObject({ continue: true, group_interval: '1m', repeat_interval: '1m' });
    // The watchdog route comes first and does not continue, so nothing after it sees the watchdog.
    expect(routes[0]).toMatchObject({
      receiver: DEADMANS_SWITCH,
      matchers: ['alertname="EtcdMonitorWatchdog"'],
    });
    expect(routes[0]?.continue).toBeUndefined();
  });

  it('groups by cluster and alert name with a 5-minute repeat window', () => {
    const route = config.route as Yaml;
    expect(route.group_by).toEqual(['cluster', 'alertname']);
    expect(route.repeat_interval).toBe('5m');
    expect(route.group_wait).toBeDefined();
    expect(route.group_interval).toBeDefined();
  });

  it('keeps every secret in a file and sends resolved notifications everywhere', () => {
    const text = JSON.stringify(config);
    for (const inline of [
      '"slack_api_url"',
      '"api_url"',
      '"routing_key"',
      '"service_key"',
      '"smtp_auth_password"',
      '"auth_password"',
    ]) {
      expect(text).not.toContain(inline);
    }
    const global = config.global as Yaml;
    expect(global.slack_api_url_file).toMatch(/^\/etc\/alertmanager\/secrets\//);
    expect(global.smtp_auth_password_file).toMatch(/^\/etc\/alertmanager\/secrets\//);
    const receivers = config.receivers as Yaml[];
    const pagerduty = receivers.flatMap((r) => (r.pagerduty_configs ?? []) as Yaml[]);
    expect(pagerduty.map((p) => p.routing_key_file)).toEqual([
      '/etc/alertmanager/secrets/pagerduty-routing-key',
    ]);
    for (const r of receivers) {
      for (const key of ['pagerduty_configs', 'slack_configs', 'email_configs', 'webhook_configs']) {
        for (const c of (r[key] ?? []) as Yaml[])
          expect({ receiver: r.name, key, send_resolved: c.send_resolved }).toMatchObject({
            // A resolved watchdog would count as a ping to the dead-man's switch: only firing is sent there.
            send_resolved: r.name !== DEADMANS_SWITCH,
          });
      }
    }
    const history = receivers.find((r) => r.name === 'etcd-monitor-history');
    expect(history?.webhook_configs).toMatchObject([
      {
        url: 'http://127.0.0.1:8080/api/v1/alerts/webhook',
        max_alerts: 1000,
        http_config: {
          authorization: {
            type: 'Bearer',
            credentials_file: '/etc/alertmanager/secrets/etcd-monitor-webhook-token',
          },
        },
      },
    ]);
    const deadman = receivers.find((r) => r.name === DEADMANS_SWITCH);
    expect(deadman?.webhook_configs).toMatchObject([
      {
        http_config: {
          authorization: { credentials_file: '/etc/alertmanager/secrets/deadmans-switch-token' },
        },
      },
    ]);
    // No credential inline: every http_config reads its secret from a file.
    expect(text).not.toMatch(/"credentials"|"bearer_token"|"password"/);
  });

  it('inhibits member-level and latency alerts during quorum loss, and warnings under their critical tier', () => {
    expect(config.inhibit_rules).toEqual([
      {
        source_matchers: ['alertname="EtcdQuorumLost"'],
        target_matchers: ['member=~".+"'],
        equal: ['cluster'],
      },
      {
        source_matchers: ['alertname="EtcdQuorumLost"'],
        target_matchers: ['alertname=~"Etcd.*(Latency|Durations?|Slow).*"'],
        equal: ['cluster'],
      },
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['alertname', 'cluster'],
      },
    ]);
  });
});

describe('notification templates (amtool template render on a captured notification)', () => {
  let dataFile: string;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'am-tmpl-'));
    const payload = JSON.parse(
      await readFile(path.join(FIXTURES, 'webhook-firing-member.json'), 'utf8'),
    ) as Yaml;
    dataFile = path.join(tmp, 'data.json');
    await writeFile(dataFile, JSON.stringify(payload));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  const render = (template: string, type: 'text' | 'html' = 'text'): string => {
    const { status, out } = amtool([
      'template',
      'render',
      `--template.glob=${path.join(SHIPPED_ALERTMANAGER_DIR, 'templates', '*.tmpl')}`,
      `--template.data=${dataFile}`,
      `--template.type=${type}`,
      `--template.text={{ template "${template}" . }}`,
    ]);
    expect(status, out).toBe(0);
    return out;
  };

  it('Slack: title, colour and a rich text with cluster, member, value, runbook and silence links', () => {
    expect(render('etcd.slack.title')).toBe('[FIRING:1] EtcdMemberDown · cluster c1');
    expect(render('etcd.slack.color')).toBe('warning');
    const text = render('etcd.slack.text');
    expect(text).toContain('*EtcdMemberDown summary.*');
    expect(text).toContain('cluster `c1` · member `m1` · value `1` · severity `warning`');
    expect(text).toContain('<https://example.invalid/runbooks/EtcdMemberDown|runbook>');
    expect(text).toContain(
      '/#/silences/new?filter=%7Balertname%3D%22EtcdMemberDown%22%2Ccluster%3D%22c1%22%2Cmember%3D%22m1%22%7D|silence>',
    );
  });

  it('members and values: listed per alert, "-" when absent', async () => {
    expect(render('etcd.members')).toBe('m1');
    expect(render('etcd.values')).toBe('m1=1');
    const critical = JSON.parse(
      await readFile(path.join(FIXTURES, 'webhook-firing-critical.json'), 'utf8'),
    ) as Yaml;
    const alerts = critical.alerts as Array<{ annotations: Record<string, string> }>;
    delete alerts[0]?.annotations.value;
    await writeFile(dataFile, JSON.stringify(critical));
    try {
      expect(render('etcd.members')).toBe('-');
      expect(render('etcd.values')).toBe('-');
    } finally {
      await writeFile(dataFile, await readFile(path.join(FIXTURES, 'webhook-firing-member.json'), 'utf8'));
    }
  });

  it('PagerDuty: summary and severity', () => {
    expect(render('etcd.pagerduty.description')).toBe(
      '[c1] EtcdMemberDown: EtcdMemberDown summary. (member m1)',
    );
    expect(render('etcd.pagerduty.severity')).toBe('warning');
  });

  it('email: subject, text and escaped HTML', () => {
    expect(render('etcd.email.subject')).toBe('[FIRING:1] [warning] EtcdMemberDown on etcd cluster c1');
    expect(render('etcd.email.text')).toContain('cluster: c1  member: m1  value: 1  severity: warning');
    const html = render('etcd.email.html', 'html');
    expect(html).toContain('<td>m1</td>');
    expect(html).toContain('<a href="https://example.invalid/runbooks/EtcdMemberDown">runbook</a>');
  });
});
