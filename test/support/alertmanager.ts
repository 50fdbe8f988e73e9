import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { freePort } from '../../harness/free-port.js';
import {
  onProcessExit,
  spawnTracked,
  terminate,
  waitFor,
  type TrackedProcess,
} from '../../harness/processes.js';

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager';

let binVersion: string | undefined;
/** `major.minor` of ALERTMANAGER_BIN (`0.25`, `0.33`): `make test` runs the routing suites on both. */
export function alertmanagerVersion(): string {
  if (binVersion === undefined) {
    const out = execFileSync(ALERTMANAGER_BIN, ['--version'], { encoding: 'utf8' });
    const found = /version (\d+\.\d+)\./.exec(out)?.[1];
    if (!found) throw new Error(`cannot read the version of ${ALERTMANAGER_BIN} from:\n${out}`);
    binVersion = found;
  }
  return binVersion;
}
/** The shipped routing config and templates, never edited by tests. */
export const SHIPPED_ALERTMANAGER_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../alertmanager',
);
export const SHIPPED_ALERTMANAGER_CONFIG = path.join(SHIPPED_ALERTMANAGER_DIR, 'alertmanager.yml');

/** Where a rendered test copy sends each kind of notification instead of the shipped placeholders. */
export interface AlertmanagerTargets {
  /** Slack incoming-webhook URL (written into the slack_api_url_file secret). */
  slackUrl: string;
  /** PagerDuty Events API v2 enqueue URL. */
  pagerdutyUrl: string;
  /** Replaces the generic (info) webhook URL. */
  webhookUrl: string;
  /** Replaces the exporter's history webhook URL. */
  historyUrl: string;
  /** Replaces the dead-man's-switch URL (the generic webhook's sink by default). */
  deadmansSwitchUrl?: string;
  /** Written into every http_config credentials_file (bearer tokens of the history webhook and the switch). */
  bearerToken?: string;
  /** SMTP relay host:port, plain SMTP (TLS requirement is switched off in the copy). */
  smtpAddress: string;
  pagerdutyRoutingKey?: string;
}

export interface RenderOptions {
  targets: AlertmanagerTargets;
  /** Directory where the copy's secret files are written. */
  secretsDir: string;
  /** Shorter grouping timers so tests do not wait 30 s per group. */
  timings?: { groupWait?: string; groupInterval?: string; repeatInterval?: string };
}

type Yaml = Record<string, unknown>;
const asList = (value: unknown): Yaml[] => (Array.isArray(value) ? (value as Yaml[]) : []);
const SHIPPED_HISTORY_URL = 'http://127.0.0.1:8080/api/v1/alerts/webhook';

/**
 * Rewrites the shipped config for a test: every URL, secret file and relay points at local sinks and
 * temp files, templates at the shipped directory. Throws if a webhook URL it does not know would stay,
 * so a test can never notify anything but a sink. Returns the YAML text and the secret files to write.
 */
export function renderAlertmanagerConfig(
  shippedYaml: string,
  opts: RenderOptions,
): { yaml: string; secrets: Record<string, string> } {
  const config = yaml.load(shippedYaml) as Yaml;
  const { targets, secretsDir } = opts;
  const secrets: Record<string, string> = {
    [path.join(secretsDir, 'slack-webhook-url')]: targets.slackUrl,
    [path.join(secretsDir, 'pagerduty-routing-key')]: targets.pagerdutyRoutingKey ?? 'test-routing-key',
    [path.join(secretsDir, 'smtp-password')]: 'unused-by-the-sink',
  };
  const global = (config.global ?? {}) as Yaml;
  global.slack_api_url_file = path.join(secretsDir, 'slack-webhook-url');
  global.smtp_auth_password_file = path.join(secretsDir, 'smtp-password');
  global.smtp_smarthost = targets.smtpAddress;
  global.smtp_require_tls = false;
  global.pagerduty_url = targets.pagerdutyUrl;
  config.global = global;
  config.templates = asList(config.templates).map((t) => path.resolve(SHIPPED_ALERTMANAGER_DIR, String(t)));

  for (const receiver of asList(config.receivers)) {
    for (const pd of asList(receiver.pagerduty_configs)) {
      pd.routing_key_file = path.join(secretsDir, 'pagerduty-routing-key');
      pd.url = targets.pagerdutyUrl;
    }
    for (const slack of asList(receiver.slack_configs)) {
      if (slack.api_url !== undefined || slack.api_url_file !== undefined) {
        throw new Error(
          `receiver ${String(receiver.name)}: per-receiver Slack URL not handled by the test renderer`,
        );
      }
    }
    for (const email of asList(receiver.email_configs)) {
      if (email.smarthost !== undefined) email.smarthost = targets.smtpAddress;
      email.require_tls = false;
    }
    for (const hook of asList(receiver.webhook_configs)) {
      if (hook.url === SHIPPED_HISTORY_URL) hook.url = targets.historyUrl;
      else if (receiver.name === 'info') hook.url = targets.webhookUrl;
      else if (receiver.name === 'deadmans-switch')
        hook.url = targets.deadmansSwitchUrl ?? targets.webhookUrl;
      else throw new Error(`receiver ${String(receiver.name)}: webhook ${String(hook.url)} has no test sink`);
      const auth = (hook.http_config as Yaml | undefined)?.authorization as Yaml | undefined;
      if (typeof auth?.credentials_file === 'string') {
        const file = path.join(secretsDir, path.basename(auth.credentials_file));
        auth.credentials_file = file;
        secrets[file] = targets.bearerToken ?? 'test-bearer-token';
      }
    }
  }

  const route = config.route as Yaml;
  if (opts.timings?.groupWait) route.group_wait = opts.timings.groupWait;
  if (opts.timings?.groupInterval) route.group_interval = opts.timings.groupInterval;
  if (opts.timings?.repeatInterval) route.repeat_interval = opts.timings.repeatInterval;
  // Child routes with a group_interval of their own (history, dead-man's switch) follow the test's, so a
  // change reaches them as fast; their repeat_interval (1m) stays: the exporter expires a firing alert not
  // re-sent within --alerts.resolve-timeout (5m), longer than some tests run.
  for (const child of asList(route.routes)) {
    if (opts.timings?.groupInterval && child.group_interval !== undefined)
      child.group_interval = opts.timings.groupInterval;
  }
  // The shipped file shares one Slack config between receivers through a YAML anchor; write it out plainly.
  return { yaml: yaml.dump(config, { noRefs: true, lineWidth: -1 }), secrets };
}

export interface AlertmanagerOptions {
  /** Full config text; write secrets first (see renderAlertmanagerConfig). */
  configYaml: string;
  secrets?: Record<string, string>;
  /** Temp dir to use (created if missing); a fresh one under the OS temp dir by default. */
  dir?: string;
}

/** A running Alertmanager on a free loopback port. */
export interface RunningAlertmanager {
  readonly url: string;
  readonly dir: string;
  readonly configFile: string;
  logs(): string;
  /** Posts alerts through the v2 API, as Prometheus does. */
  postAlerts(
    alerts: Array<{
      labels: Record<string, string>;
      annotations?: Record<string, string>;
      startsAt?: string;
      endsAt?: string;
    }>,
  ): Promise<void>;
  /** GET /api/v2/alerts (including inhibited and silenced ones). */
  alerts(): Promise<
    Array<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }>
  >;
  stop(): Promise<void>;
}

const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts Alertmanager with HA gossip off (it would bind 0.0.0.0:9094), waits until /-/ready answers. */
export async function startAlertmanager(opts: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'am-test-')));
  if (ownDir) liveDirs.add(dir);
  await mkdir(path.join(dir, 'data'), { recursive: true });
  for (const [file, content] of Object.entries(opts.secrets ?? {})) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content, { mode: 0o600 });
  }
  const configFile = path.join(dir, 'alertmanager.yml');
  await writeFile(configFile, opts.configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: TrackedProcess = spawnTracked(
    ALERTMANAGER_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    { label: 'alertmanager' },
  );
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`exited ${JSON.stringify(proc.exitInfo)}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `alertmanager on ${url} to be ready` },
    );
  } catch (err) {
    await terminate(proc, 'SIGKILL');
    throw new Error(`${(err as Error).message}\n--- alertmanager output ---\n${proc.output()}`);
  }

  return {
    url,
    dir,
    configFile,
    logs: () => proc.output(),
    async postAlerts(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!res.ok) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
    },
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: ${res.status}`);
      return (await res.json()) as Awaited<ReturnType<RunningAlertmanager['alerts']>>;
    },
    async stop() {
      await terminate(proc, 'SIGTERM');
      if (ownDir) {
        await rm(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      }
    },
  };
}

/** Reads the shipped config text (tests render copies of it, never edit it). */
export function readShippedAlertmanagerConfig(): Promise<string> {
  return readFile(SHIPPED_ALERTMANAGER_CONFIG, 'utf8');
}
