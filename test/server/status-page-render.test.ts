import { createHash } from 'node:crypto';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCRIPT } from '../../src/server/status-page/client.js';
import { STATUS_PAGE_CSP, statusPage } from '../../src/server/status-page/page.js';
import { clusterVerdict, describeChanges, renderClusters } from '../../src/server/status-page/render.js';
import type { ClusterData, MemberJson, StatusJson } from '../../src/server/status-page/types.js';

// The status page's HTML, without a browser: escaping of untrusted values, states in words (never colour
// alone), the table's semantics, and that the browser gets the very render functions the server uses.

const STATUS: StatusJson = {
  cluster: 'main',
  healthy: true,
  member_count: 3,
  members_healthy: 3,
  members_available: 3,
  quorum_size: 2,
  quorum_available: true,
  failure_tolerance: 1,
  has_leader: true,
  split_brain: false,
  stale_leader: false,
  leader_changes: 4,
  leader_changes_last_hour: 1,
  network_partition: false,
  partition_reasons: [],
  alarms: [],
  last_check: '2026-12-06T21:00:00.000Z',
};

const member = (name: string, over: Partial<MemberJson> = {}): MemberJson => ({
  name,
  endpoint: `http://127.0.0.1:2379/${name}`,
  up: true,
  healthy: true,
  health_state: 'healthy',
  health_reason: '/health true',
  is_leader: false,
  is_learner: false,
  version: '3.5.30',
  raft_term: 7,
  raft_index: 1234,
  db_size: 2 * 1024 * 1024,
  db_quota: 2 * 1024 ** 3,
  db_quota_usage_ratio: 2 / 1024,
  alarms: [],
  last_error: null,
  ...over,
});

const cluster = (over: Partial<ClusterData> = {}): ClusterData => ({
  name: 'main',
  status: STATUS,
  members: [member('etcd-0', { is_leader: true }), member('etcd-1'), member('etcd-2')],
  leaderChanges: [{ at: '2026-12-06T20:00:00.000Z', previousLeader: 'etcd-1', leader: 'etcd-0', term: 7 }],
  alerts: [],
  benchmark: null,
  ...over,
});

const HOSTILE = `<script>alert("x")</script><img src=x onerror='alert(1)'>&amp;`;
const ESCAPED =
  '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#60;img src=x onerror=&#39;alert(1)&#39;&#62;&#38;amp;';

describe('escaping', () => {
  it('every untrusted value is rendered as text: names, URLs, reasons, error codes and messages, alerts', () => {
    const html = renderClusters([
      cluster({
        name: HOSTILE,
        status: { ...STATUS, alarms: [{ member: HOSTILE, type: 'NOSPACE' }], partition_reasons: [HOSTILE] },
        members: [
          member(HOSTILE, {
            endpoint: HOSTILE,
            up: false,
            health_state: 'down',
            health_reason: HOSTILE,
            version: HOSTILE,
            last_error: { collector: HOSTILE, code: HOSTILE, message: HOSTILE, at: HOSTILE },
          }),
        ],
        leaderChanges: [{ at: HOSTILE, previousLeader: HOSTILE, leader: HOSTILE, term: 1 }],
        alerts: [
          {
            alertname: HOSTILE,
            severity: HOSTILE,
            member: HOSTILE,
            startsAt: HOSTILE,
            annotations: { summary: HOSTILE },
          },
        ],
        benchmark: { unavailable: HOSTILE },
      }),
    ]);
    expect(html).not.toMatch(/<script|<img|onerror='/i);
    // name ×(h2, caption, row, alarm, alert member, 2 leader-change names) and the rest: all escaped.
    expect(html.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(12);
  });

  it('the whole document holds exactly one script, the page own', () => {
    const html = statusPage({
      version: HOSTILE,
      clusters: [cluster({ name: HOSTILE })],
      intervalMs: 1000,
      benchmark: false,
      now: '2026-12-06T21:00:00.000Z',
    });
    expect(html.match(/<script/g)).toHaveLength(1);
    // No event-handler attribute in any tag outside the script (the CSP would block it anyway).
    const markup = html.replace(/<script>[\s\S]*<\/script>/, '');
    expect(markup).not.toMatch(/<[^>]*\son[a-z]+=/i);
    expect(markup).toContain(ESCAPED);
  });
});

describe('states in words', () => {
  it.each([
    ['healthy', {}, 'HEALTHY', 'ok'],
    ['a member down', { members_healthy: 2, members_available: 2, failure_tolerance: 0 }, 'DEGRADED', 'warn'],
    [
      'quorum lost',
      { quorum_available: false, members_available: 1, has_leader: false },
      'QUORUM LOST',
      'crit',
    ],
    ['split brain', { split_brain: true }, 'SPLIT BRAIN', 'crit'],
    ['no leader', { has_leader: false }, 'NO LEADER', 'crit'],
    ['partition', { network_partition: true, partition_reasons: ['peer_unreachable'] }, 'DEGRADED', 'warn'],
    ['stale leader', { stale_leader: true }, 'DEGRADED', 'warn'],
    ['an alarm', { alarms: [{ member: 'etcd-1', type: 'NOSPACE' }] }, 'DEGRADED', 'warn'],
  ] as const)('%s → %s', (_what, over, word, level) => {
    const v = clusterVerdict({ ...STATUS, ...over });
    expect(v).toMatchObject({ word, level });
    // The word is in the card's heading, next to the class that colours it.
    expect(renderClusters([cluster({ status: { ...STATUS, ...over } })])).toContain(
      `<span class="badge ${level}">${word}</span></h2>`,
    );
  });

  it('a down member says DOWN, not answering, and its error code and message', () => {
    const html = renderClusters([
      cluster({
        members: [
          member('etcd-1', {
            up: false,
            healthy: false,
            health_state: 'down',
            health_reason: 'no Status',
            raft_term: null,
            last_error: {
              collector: 'health',
              code: 'CONNECTION_REFUSED',
              message: 'nothing listens',
              at: '2026-12-06T21:00:00.000Z',
            },
          }),
        ],
      }),
    ]);
    expect(html).toContain('<span class="badge crit">DOWN</span> not answering');
    expect(html).toContain('<code>CONNECTION_REFUSED</code> nothing listens');
  });

  it('the member table has a caption, column headers and row headers', () => {
    const html = renderClusters([cluster()]);
    expect(html).toContain('<caption id="cluster-0-caption">Members of main</caption>');
    expect(html.match(/<th scope="col">/g)).toHaveLength(9);
    expect(html.match(/<th scope="row">/g)).toHaveLength(3);
    expect(html).toContain('Leader</dt><dd>etcd-0 (term 7)');
    expect(html).toContain('0.2% of 2.0 GiB (fullest: etcd-0)');
    expect(html).toContain('etcd-1 → etcd-0 (term 7)');
  });

  it('a part that could not be loaded says why', () => {
    const html = renderClusters([cluster({ alerts: { unavailable: 'HTTP 404 NOT_FOUND: no route' } })]);
    expect(html).toContain('Not available: HTTP 404 NOT_FOUND: no route');
  });

  it('changes between two polls are described for the live region', () => {
    const before = [cluster()];
    const after = [
      cluster({
        status: { ...STATUS, members_healthy: 2, failure_tolerance: 0 },
        members: [
          member('etcd-0', { is_leader: true }),
          member('etcd-1', {
            up: false,
            health_state: 'down',
            last_error: { collector: 'status', code: 'CONNECTION_REFUSED', message: '', at: null },
          }),
          member('etcd-2'),
        ],
      }),
    ];
    expect(describeChanges(before, after)).toEqual([
      'cluster main: HEALTHY → DEGRADED',
      'member etcd-1 of main: HEALTHY → DOWN (CONNECTION_REFUSED)',
    ]);
    expect(describeChanges(after, after)).toEqual([]);
  });
});

describe('the script the browser gets', () => {
  it('holds the same render functions: evaluated on its own, it renders what the server renders', () => {
    const data = [
      cluster({ name: HOSTILE }),
      cluster({ name: 'second', status: { unavailable: 'not ready' } }),
    ];
    // The script without its last call, in a bare context (no Node globals), exposing renderClusters.
    const body = CLIENT_SCRIPT.replace(
      /statusPageMain\(document, [^\n]*\n\}\)\(\);$/,
      'globalThis.out = renderClusters(data);\n})();',
    );
    expect(body).not.toBe(CLIENT_SCRIPT);
    const context = vm.createContext({ data });
    vm.runInContext(body, context);
    expect(context['out']).toBe(renderClusters(data));
  });

  it('the Content-Security-Policy allows that script and style by hash, and nothing inline else', () => {
    const hash = createHash('sha256').update(CLIENT_SCRIPT).digest('base64');
    expect(STATUS_PAGE_CSP).toContain(`script-src 'sha256-${hash}';`);
    expect(STATUS_PAGE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(STATUS_PAGE_CSP).toMatch(/default-src 'none'/);
    expect(STATUS_PAGE_CSP).toMatch(/connect-src 'self'/);
  });
});
