/*
 * HTML of the status page's cluster cards, rendered from the JSON the REST API returns. The same functions run
 * on the server (the first paint) and in the browser (every poll): ./client.ts sends their source text, so
 * they must be self-contained — no imports but types, no module-level values, only calls to each other
 * (every one listed in RENDER_FUNCTIONS of ./client.ts). Every value from etcd or the API goes through esc():
 * member names, URLs and error messages come from the watched cluster and are untrusted.
 */

import type { ClusterData, Level, MemberJson, Part, StatusJson, Unavailable } from './types.js';

/** HTML-escapes any value; null and undefined become ''. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

export function isUnavailable(part: unknown): part is Unavailable {
  return typeof part === 'object' && part !== null && 'unavailable' in part;
}

/** 1536 -> "1.5 KiB", as etcdctl's table and Grafana show sizes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}

/** An ISO 8601 time as "2026-12-06 21:47:57 UTC" in a <time> element (same text on server and browser). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const text = iso.replace('T', ' ').slice(0, 19) + ' UTC';
  return '<time datetime="' + esc(iso) + '">' + esc(text) + '</time>';
}

/** The cluster's state in one word, and how bad it is; the worst condition wins. */
export function clusterVerdict(s: Part<StatusJson>): { word: string; level: Level; why: string } {
  if (isUnavailable(s)) return { word: 'UNKNOWN', level: 'unknown', why: s.unavailable };
  if (!s.quorum_available)
    return {
      word: 'QUORUM LOST',
      level: 'crit',
      why: s.members_available + ' of ' + s.member_count + ' members available, ' + s.quorum_size + ' needed',
    };
  if (s.split_brain)
    return { word: 'SPLIT BRAIN', level: 'crit', why: 'more than one member claims to lead' };
  if (!s.has_leader) return { word: 'NO LEADER', level: 'crit', why: 'no member reports a leader' };
  const problems: string[] = [];
  if (s.members_healthy < s.member_count)
    problems.push(s.member_count - s.members_healthy + ' of ' + s.member_count + ' members not healthy');
  if (s.failure_tolerance === 0) problems.push('no member may fail without losing quorum');
  if (s.network_partition) problems.push('network partition');
  if (s.stale_leader) problems.push('stale leader');
  if (s.alarms.length > 0) problems.push('alarm raised');
  if (problems.length > 0 || !s.healthy)
    return { word: 'DEGRADED', level: 'warn', why: problems.join('; ') || 'not healthy' };
  return { word: 'HEALTHY', level: 'ok', why: 'all ' + s.member_count + ' members healthy' };
}

/** A member's state word (the API's health_state) and its level. */
export function memberLevel(m: MemberJson): Level {
  if (m.health_state === 'healthy') return 'ok';
  if (m.health_state === 'slow') return 'warn';
  return m.up ? 'warn' : 'crit';
}

export function yesNo(flag: boolean, what: string): string {
  return flag ? '<span class="badge crit">YES</span> ' + esc(what) : '<span class="badge ok">no</span>';
}

export function renderFacts(c: ClusterData): string {
  const s = c.status;
  if (isUnavailable(s)) return '<p>Status not available: ' + esc(s.unavailable) + '</p>';
  const members = isUnavailable(c.members) ? [] : c.members;
  const leader = members.find((m) => m.is_leader);
  let quota = '—';
  const withRatio = members.filter((m) => m.db_quota_usage_ratio !== null);
  if (withRatio.length > 0) {
    const top = withRatio.reduce((a, b) =>
      (b.db_quota_usage_ratio ?? 0) > (a.db_quota_usage_ratio ?? 0) ? b : a,
    );
    const ratio = top.db_quota_usage_ratio ?? 0;
    const text =
      (ratio * 100).toFixed(1) + '% of ' + formatBytes(top.db_quota) + ' (fullest: ' + top.name + ')';
    quota =
      '<meter min="0" max="1" low="0.7" high="0.85" optimum="0" value="' +
      esc(ratio) +
      '" aria-hidden="true"></meter> ' +
      esc(text);
  }
  const alarms =
    s.alarms.length === 0
      ? 'none'
      : s.alarms
          .map((a) => '<span class="badge crit">' + esc(a.type) + '</span> on ' + esc(a.member))
          .join(', ');
  const rows: [string, string][] = [
    [
      'Quorum',
      esc(
        s.members_available +
          ' of ' +
          s.member_count +
          ' members available, ' +
          s.quorum_size +
          ' needed; ' +
          s.members_healthy +
          ' healthy',
      ),
    ],
    [
      'Failure tolerance',
      esc(s.failure_tolerance + (s.failure_tolerance === 1 ? ' member' : ' members') + ' may fail'),
    ],
    [
      'Leader',
      leader
        ? esc(leader.name) + ' (term ' + esc(leader.raft_term ?? '—') + ')'
        : s.has_leader
          ? 'elected (member not answering)'
          : '<span class="badge crit">none</span>',
    ],
    ['Split brain', yesNo(s.split_brain, 'more than one leader')],
    ['Network partition', yesNo(s.network_partition, s.partition_reasons.join(', '))],
    ['Stale leader', yesNo(s.stale_leader, 'the leader has stopped making progress')],
    ['Alarms', alarms],
    ['DB use of quota', quota],
    [
      'Leader changes',
      esc(s.leader_changes_last_hour + ' in the last hour, ' + s.leader_changes + ' since start'),
    ],
    ['Last check', formatTime(s.last_check)],
  ];
  return (
    '<dl class="facts">' +
    rows.map(([k, v]) => '<div><dt>' + esc(k) + '</dt><dd>' + v + '</dd></div>').join('') +
    '</dl>'
  );
}

export function renderHistory(c: ClusterData): string {
  const changes = c.leaderChanges;
  const leaders = isUnavailable(changes)
    ? '<p>' + esc('Not available: ' + changes.unavailable) + '</p>'
    : changes.length === 0
      ? '<p>None recorded.</p>'
      : '<ol>' +
        changes
          .map(
            (ch) =>
              '<li>' +
              formatTime(ch.at) +
              ': ' +
              esc(
                (ch.previousLeader ?? 'none') + ' → ' + (ch.leader ?? 'unknown') + ' (term ' + ch.term + ')',
              ) +
              '</li>',
          )
          .join('') +
        '</ol>';
  const a = c.alerts;
  const alerts = isUnavailable(a)
    ? '<p>' + esc('Not available: ' + a.unavailable) + '</p>'
    : a.length === 0
      ? '<p>None firing.</p>'
      : '<ul>' +
        a
          .map((al) => {
            const level =
              al.severity === 'critical' ? 'crit' : al.severity === 'warning' ? 'warn' : 'unknown';
            const summary = al.annotations['summary'] ?? al.annotations['description'] ?? '';
            return (
              '<li><span class="badge ' +
              level +
              '">' +
              esc(al.severity || 'none') +
              '</span> <strong>' +
              esc(al.alertname) +
              '</strong>' +
              (al.member ? ' on ' + esc(al.member) : '') +
              (summary ? ' — ' + esc(summary) : '') +
              ' (since ' +
              formatTime(al.startsAt) +
              ')</li>'
            );
          })
          .join('') +
        '</ul>';
  const b = c.benchmark;
  const bench = isUnavailable(b)
    ? '<p>' + esc('Not available: ' + b.unavailable) + '</p>'
    : b === null
      ? '<p>No benchmark has run.</p>'
      : '<p>' +
        esc(b.type + ': ' + b.throughput.toFixed(0) + ' ops/s, p99 ' + b.p99Ms.toFixed(1) + ' ms, ') +
        esc(b.failed + ' failed, SLO ') +
        (b.sloPassed ? '<span class="badge ok">passed</span>' : '<span class="badge crit">FAILED</span>') +
        ', finished ' +
        formatTime(b.finishedAt) +
        '</p>';
  return (
    '<h3>Recent leader changes</h3>' +
    leaders +
    '<h3>Firing alerts</h3>' +
    alerts +
    '<h3>Last benchmark</h3>' +
    bench
  );
}

export function renderMembers(c: ClusterData, id: string): string {
  const members = c.members;
  if (isUnavailable(members)) return '<p>' + esc('Members not available: ' + members.unavailable) + '</p>';
  const head = [
    'Member',
    'Client URL',
    'State',
    'Role',
    'Raft term',
    'Raft index',
    'DB size',
    'Version',
    'Last error',
  ];
  const rows = members.map((m) => {
    const level = memberLevel(m);
    const role = m.is_leader ? 'leader' : m.is_learner ? 'learner' : m.up ? 'follower' : '—';
    const err = m.last_error;
    const error = err
      ? '<code>' +
        esc(err.code) +
        '</code> ' +
        esc(err.message) +
        ' <span class="muted">(' +
        esc(err.collector) +
        ', ' +
        formatTime(err.at) +
        ')</span>'
      : '—';
    const quota =
      m.db_quota_usage_ratio === null
        ? ''
        : '<br><span class="muted">' +
          esc((m.db_quota_usage_ratio * 100).toFixed(1) + '% of quota') +
          '</span>';
    return (
      '<tr class="' +
      level +
      '"><th scope="row">' +
      esc(m.name) +
      '</th><td>' +
      esc(m.endpoint) +
      '</td><td><span class="badge ' +
      level +
      '">' +
      esc(m.health_state.toUpperCase()) +
      '</span> ' +
      esc(m.up ? 'answers' : 'not answering') +
      '<br><span class="muted">' +
      esc(m.health_reason) +
      '</span>' +
      (m.alarms.length ? '<br>alarms: ' + esc(m.alarms.join(', ')) : '') +
      '</td><td>' +
      esc(role) +
      '</td><td class="num">' +
      esc(m.raft_term ?? '—') +
      '</td><td class="num">' +
      esc(m.raft_index ?? '—') +
      '</td><td class="num">' +
      esc(formatBytes(m.db_size)) +
      quota +
      '</td><td>' +
      esc(m.version ?? '—') +
      '</td><td>' +
      error +
      '</td></tr>'
    );
  });
  return (
    '<div class="scroll" role="region" tabindex="0" id="' +
    id +
    '-members" aria-labelledby="' +
    id +
    '-caption"><table><caption id="' +
    id +
    '-caption">Members of ' +
    esc(c.name) +
    '</caption><thead><tr>' +
    head.map((h) => '<th scope="col">' + esc(h) + '</th>').join('') +
    '</tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table></div>'
  );
}

/** One card; `index` makes the element ids (cluster names are untrusted and may hold spaces). */
export function renderCluster(c: ClusterData, index: number): string {
  const v = clusterVerdict(c.status);
  const id = 'cluster-' + index;
  return (
    '<article class="card ' +
    v.level +
    '" aria-labelledby="' +
    id +
    '-h"><h2 id="' +
    id +
    '-h">Cluster ' +
    esc(c.name) +
    ': <span class="badge ' +
    v.level +
    '">' +
    esc(v.word) +
    '</span></h2><p class="why">' +
    esc(v.why) +
    '</p>' +
    renderFacts(c) +
    renderMembers(c, id) +
    renderHistory(c) +
    '</article>'
  );
}

export function renderClusters(clusters: readonly ClusterData[]): string {
  if (clusters.length === 0) return '<p>No clusters configured.</p>';
  return clusters.map((c, i) => renderCluster(c, i)).join('');
}

/** What changed between two polls, in words for the aria-live log ("member etcd-2 of main: HEALTHY → DOWN"). */
export function describeChanges(before: readonly ClusterData[], after: readonly ClusterData[]): string[] {
  const out: string[] = [];
  for (const c of after) {
    const old = before.find((b) => b.name === c.name);
    if (!old) continue;
    const was = clusterVerdict(old.status).word;
    const now = clusterVerdict(c.status).word;
    if (was !== now) out.push('cluster ' + c.name + ': ' + was + ' → ' + now);
    if (isUnavailable(c.members) || isUnavailable(old.members)) continue;
    for (const m of c.members) {
      const prev = old.members.find((p) => p.name === m.name && p.endpoint === m.endpoint);
      if (!prev || prev.health_state === m.health_state) continue;
      const reason = m.last_error && !m.up ? ' (' + m.last_error.code + ')' : '';
      out.push(
        'member ' +
          m.name +
          ' of ' +
          c.name +
          ': ' +
          prev.health_state.toUpperCase() +
          ' → ' +
          m.health_state.toUpperCase() +
          reason,
      );
    }
  }
  return out;
}
