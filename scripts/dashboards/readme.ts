import type { DashboardSpec } from './spec.js';

// dashboards/README.md is generated with the JSON so its panel lists can never drift from the dashboards.

const INTRO = `# Grafana dashboards

Five dashboards for Grafana 10 or newer (JSON schema 39), generated from the TypeScript specs in
\`scripts/dashboards/\`. Every query goes through a **Data source** variable and is filtered by the
\`cluster\` label (and by \`member\` where a dashboard has a member picker), so one Prometheus can hold many
etcd clusters. The exporter adds \`cluster\` and \`member\` to everything it exposes, including each member's
own etcd series (\`etcd_*\`, \`grpc_server_*\`, \`process_*\`, \`os_fd_*\`), which it re-exposes.

Screenshots cannot be taken where this project is built, and no Grafana runs there either: the JSON
follows Grafana's current dashboard schema but has not been rendered by a Grafana in CI. The tests check
its structure and run every query against real etcd, exporter and Prometheus. The lists below are
generated from the same specs as the JSON files and name every panel.`;

const IMPORT = `## How to import

**Docker compose.** \`docker compose up -d\` in the repository root starts etcd, the exporter,
Prometheus, Alertmanager and Grafana with everything below provisioned: open http://127.0.0.1:3000
(admin / admin unless \`GRAFANA_ADMIN_PASSWORD\` is set in \`.env\`), folder **etcd**.

**By file (UI).** In Grafana: *Dashboards → New → Import → Upload dashboard JSON file*, pick a file from
this directory, then choose your Prometheus in the *Data source* drop-down at the top of the dashboard.
The files carry no \`__inputs\` section, so the import asks no questions. Import all five: the dashboards
link to each other (the *etcd-monitor dashboards* menu, and table cells that open the member or cluster
view), and links go by uid.

**By provisioning.** Copy \`provisioning/dashboards/etcd-monitor.yml\` to
\`/etc/grafana/provisioning/dashboards/\` and set its \`options.path\` to a directory holding the
\`*.json\` files of this directory; \`provisioning/datasources/prometheus.yml\` is an example datasource (set
\`url\` to your Prometheus). Grafana reloads the files every 60 s; edits in the UI are not kept
(\`allowUiUpdates: false\`) because the JSON is generated.

**What Prometheus needs.** A scrape job for the exporter's \`/metrics\` with \`honor_labels: true\` (see
\`../prometheus/prometheus.yml\`), and, for the benchmark dashboard, a job for the benchmark sidecar whose
target carries a \`cluster\` label equal to the exporter's \`--cluster-name\` (the sidecar's own series have
no cluster label). The firing-alerts table and column use Prometheus' \`ALERTS\` series, so load
\`../alert-rules/etcd-monitor.rules.yml\` (its always-firing watchdog is left out of the counts).

**Changing a dashboard.** Edit the spec in \`scripts/dashboards/\`, then run
\`node --import tsx scripts/dashboards/build.ts\` (rewrites the JSON files and this README).
\`test/dashboards/structure.test.ts\` fails when the committed files differ from the generated ones, and
checks ids, grid, datasource templating, units, descriptions, cluster/member filtering, and that every
series a query names is exported by etcd 3.4, 3.5 and 3.6 (by default) or by etcd-monitor.
\`test/dashboards/queries.test.ts\` runs every query against real etcd, exporter, benchmark sidecar and
Prometheus (failing on errors and on empty results, except the panels marked "Can be empty" above), and
\`test/dashboards/multi-cluster.test.ts\` checks the all-clusters table and cluster filtering with two
clusters.`;

function section(spec: DashboardSpec): string {
  const vars = ['Data source', ...spec.variables.map((v) => `${v.label}${v.multi ? ' (multi, All)' : ''}`)];
  const lines = [
    `### ${spec.title} — \`${spec.uid}.json\``,
    '',
    spec.description,
    '',
    `uid \`${spec.uid}\` · tags ${['etcd-monitor', ...spec.tags].map((t) => `\`${t}\``).join(', ')} · variables: ${vars.join(', ')}`,
    '',
  ];
  for (const row of spec.rows) {
    lines.push(`**${row.title}**`, '');
    for (const p of row.panels) {
      const empty = p.targets.filter((t) => t.emptyWhenHealthy).map((t) => t.emptyWhenHealthy);
      const note = empty.length > 0 ? ` _(Can be empty: ${empty.join('; ')}.)_` : '';
      lines.push(`- **${p.title}** (${p.kind}${p.unit ? `, ${p.unit}` : ''}) — ${p.description}${note}`);
    }
    lines.push('');
  }
  for (const a of spec.annotations ?? []) {
    lines.push(`Annotation **${a.name}**: \`${a.expr}\` (${a.emptyWhenHealthy}).`, '');
  }
  return lines.join('\n');
}

/** The Markdown of dashboards/README.md (before prettier formatting). */
export function renderReadme(specs: readonly DashboardSpec[]): string {
  const table = [
    '| Dashboard | File | For |',
    '|---|---|---|',
    ...specs.map(
      (s) => `| ${s.title} | \`${s.uid}.json\` | ${s.description.split(': ')[0]?.split('. ')[0]} |`,
    ),
  ].join('\n');
  return [
    INTRO,
    '## What you get',
    table,
    ...specs.map(section),
    IMPORT,
    '<!-- Generated by scripts/dashboards/build.ts from the dashboard specs; edit those, not this file. -->',
    '',
  ].join('\n\n');
}
