// What `make demo` prints besides the URLs: which Prometheus alerts page this Prometheus serves, whether
// this Alertmanager has a web UI, and the "try this" fault exercise with its timeline.
import type { MemberHandle } from '../../harness/etcd-cluster.js';
import { formatDurationMs } from '../../src/util/duration.js';

const bodyOf = async (url: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(url).catch(() => undefined);
  return { status: res?.status ?? 0, text: (await res?.text().catch(() => '')) ?? '' };
};

/** The Prometheus pages that answer: its home page when it has a web UI, and where its alerts are listed. */
export interface PrometheusPages {
  /** `/` when it answers 200 (after redirects); undefined for a package without any web UI. */
  home?: string;
  alerts: string;
  /** What `alerts` is, when it is not the usual page. */
  note: string;
}

/**
 * Which Prometheus pages answer: `/alerts` where the React UI is built in (upstream releases),
 * `/classic/alerts` on Debian's 2.42 (its package leaves the React UI out: 404 at /alerts), and the API
 * `/api/v1/alerts` on Debian's 3.x, whose package has no web UI at all (404 at /query, /alerts, /classic).
 */
export async function prometheusPages(promUrl: string): Promise<PrometheusPages> {
  const home = (await bodyOf(`${promUrl}/`)).status === 200 ? `${promUrl}/` : undefined;
  for (const [path, note] of [
    ['/alerts', ''],
    ['/classic/alerts', "(the classic UI: Debian's package leaves the new one out)"],
  ] as const) {
    if ((await bodyOf(`${promUrl}${path}`)).status === 200)
      return { home, alerts: `${promUrl}${path}`, note };
  }
  return {
    home,
    alerts: `${promUrl}/api/v1/alerts`,
    note: '(the API: this Prometheus package has no web UI)',
  };
}

/** The Alertmanager web UI's URL, or undefined when `/` is Debian's "no web UI in this package" page. */
export async function alertmanagerUi(amUrl: string): Promise<string | undefined> {
  const root = await bodyOf(`${amUrl}/`);
  return root.status === 200 && !/does not include the web UI|Debian package/i.test(root.text)
    ? `${amUrl}/`
    : undefined;
}

export interface TryThis {
  follower: MemberHandle;
  pid: number;
  sinkUrl: string;
  forMs: number;
  rulesFile: string;
  am: { groupWait: string; groupInterval: string };
}

/** The fault exercise: the exact commands, and what shows up where and when. */
export function tryThis(t: TryThis): string {
  const forText = formatDurationMs(t.forMs);
  return `
Try this: stop a member, watch the alert arrive here, start it again.
  kill ${t.pid}
      stops etcd member ${t.follower.name} (a follower; SIGTERM, as \`systemctl stop etcd\` would).
      < 15 s   the status page shows ${t.follower.name} down with its reason; "etcd member ${t.follower.name} stopped" here
      < 45 s   the alerts page lists EtcdMembersDown and EtcdQuorumAtRisk, pending, then firing ${forText} later
               (every \`for:\` is ${forText} in the demo's rules: ${t.rulesFile},
               rendered by the generator of alert-rules/; the shipped rules wait 1 to 60 minutes)
      < 90 s   this terminal prints the notifications Alertmanager sends through the shipped routing
               (alertmanager/alertmanager.yml; group_wait ${t.am.groupWait}, group_interval ${t.am.groupInterval}, email left out):
               EtcdMembersDown (warning: Slack) and EtcdQuorumAtRisk (critical: PagerDuty and Slack)
  curl -X POST ${t.sinkUrl}/members/${t.follower.name}/start
      starts ${t.follower.name} again on its data dir (the same command line with --initial-cluster-state=existing)
      < 90 s   the [RESOLVED] notifications are printed here
`;
}
