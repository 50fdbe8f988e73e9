// What `make demo` prints besides the URLs: which Prometheus alerts page this Prometheus serves, whether
// this Alertmanager has a web UI, and the "try this" fault exercise with its timeline.
import type { MemberHandle } from '../../harness/etcd-cluster.js';
import { formatDurationMs } from '../../src/util/duration.js';

const bodyOf = async (url: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(url).catch(() => undefined);
  return { status: res?.status ?? 0, text: (await res?.text().catch(() => '')) ?? '' };
};

/**
 * The alerts page this Prometheus serves: `/alerts` where the React UI is built in (Prometheus 3, upstream
 * 2.x releases), `/classic/alerts` for Debian's 2.42, whose package leaves the React UI out (404 at /alerts).
 */
export async function alertsPage(promUrl: string): Promise<string> {
  const modern = await bodyOf(`${promUrl}/alerts`);
  return modern.status === 200 ? `${promUrl}/alerts` : `${promUrl}/classic/alerts`;
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
      ~5 s     the status page shows ${t.follower.name} down with its reason; "etcd member ${t.follower.name} stopped" here
      ~15 s    the alerts page shows EtcdMembersDown and EtcdQuorumAtRisk pending
      ~30 s    they fire (every \`for:\` is ${forText} in the demo's rules: ${t.rulesFile},
               rendered by the generator of alert-rules/; the shipped rules wait 1 to 60 minutes)
      < 90 s   this terminal prints the notifications Alertmanager sends through the shipped routing
               (alertmanager/alertmanager.yml; group_wait ${t.am.groupWait}, group_interval ${t.am.groupInterval}, email left out):
               EtcdMembersDown (warning: Slack) and EtcdQuorumAtRisk (critical: PagerDuty and Slack)
  curl -X POST ${t.sinkUrl}/members/${t.follower.name}/start
      starts ${t.follower.name} again on its data dir (the same command line with --initial-cluster-state=existing)
      < 90 s   the [RESOLVED] notifications are printed here
`;
}
