// The shipped alertmanager/alertmanager.yml, rewritten for `make demo`: the route tree, inhibitions,
// receivers and templates stay as shipped; every notification target points at the demo's own sink and
// secrets are files in the demo's temp dir. Nothing here can notify anything outside loopback.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';

type Yaml = Record<string, unknown>;
const asList = (value: unknown): Yaml[] => (Array.isArray(value) ? (value as Yaml[]) : []);
const SHIPPED_HISTORY_URL = 'http://127.0.0.1:8080/api/v1/alerts/webhook';

export interface DemoAlertmanagerConfig {
  /** Where the config was written. */
  readonly file: string;
  /** The group_wait and group_interval the demo uses instead of the shipped 30s and 2m. */
  readonly timings: { groupWait: string; groupInterval: string };
}

/**
 * Writes `<dir>/alertmanager.yml` from the shipped config: Slack, PagerDuty, the info webhook and the
 * dead-man's switch go to `sinkUrl/<receiver kind>`, the history webhook to the exporter. Email is dropped
 * (the demo has no SMTP relay); the warning receiver keeps its Slack copy.
 */
export function writeDemoAlertmanagerConfig(
  root: string,
  dir: string,
  sinkUrl: string,
  exporterUrl: string,
): DemoAlertmanagerConfig {
  const shippedDir = join(root, 'alertmanager');
  const config = yaml.load(readFileSync(join(shippedDir, 'alertmanager.yml'), 'utf8')) as Yaml;
  const secret = (name: string, value: string): string => {
    const file = join(dir, `secret-${name}`);
    writeFileSync(file, value, { mode: 0o600 });
    return file;
  };
  const global = (config.global ?? {}) as Yaml;
  global.slack_api_url_file = secret('slack-webhook-url', `${sinkUrl}/slack`);
  global.smtp_auth_password_file = secret('smtp-password', 'unused');
  config.global = global;
  config.templates = asList(config.templates).map((t) => resolve(shippedDir, String(t)));

  for (const receiver of asList(config.receivers)) {
    for (const pd of asList(receiver.pagerduty_configs)) {
      pd.routing_key_file = secret('pagerduty-routing-key', 'demo-routing-key');
      pd.url = `${sinkUrl}/pagerduty/v2/enqueue`;
    }
    delete receiver.email_configs;
    for (const hook of asList(receiver.webhook_configs)) {
      if (hook.url === SHIPPED_HISTORY_URL) hook.url = `${exporterUrl}/api/v1/alerts/webhook`;
      else if (receiver.name === 'info') hook.url = `${sinkUrl}/webhook`;
      else if (receiver.name === 'deadmans-switch') hook.url = `${sinkUrl}/deadmans-switch`;
      else throw new Error(`receiver ${String(receiver.name)}: webhook ${String(hook.url)} has no demo sink`);
      const auth = (hook.http_config as Yaml | undefined)?.authorization as Yaml | undefined;
      // The demo's exporter runs without a web config, so the token is sent and ignored.
      if (typeof auth?.credentials_file === 'string') auth.credentials_file = secret('bearer-token', 'demo');
    }
  }
  // Shorter grouping so a notification follows the alert within seconds (shipped: 30s wait, 2m interval);
  // routes with timers of their own (history, dead-man's switch: 1m) keep them.
  const timings = { groupWait: '10s', groupInterval: '30s' };
  const route = config.route as Yaml;
  route.group_wait = timings.groupWait;
  route.group_interval = timings.groupInterval;
  const file = join(dir, 'alertmanager.yml');
  // The shipped file shares one Slack config between receivers through a YAML anchor; write it out plainly.
  writeFileSync(file, yaml.dump(config, { noRefs: true, lineWidth: -1 }));
  return { file, timings };
}
