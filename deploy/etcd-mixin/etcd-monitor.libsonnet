// The upstream etcd mixin (etcd-io/etcd contrib/mixin) configured for the series etcd-monitor re-exposes:
// every member's own etcd_* and grpc_* series through one scrape target, labelled with `cluster`,
// `member` and `instance` (the member's client host:port). Scrape the exporter with `honor_labels: true`.
// Measured on a real 3-member cluster by test/compat/etcd-mixin.test.ts; see README.md next to this file.
//
//   jb install github.com/etcd-io/etcd/contrib/mixin@main
//   jsonnet -J vendor -J <dir of this file> -e "(import 'etcd-monitor.libsonnet').prometheusAlerts"
(import 'github.com/etcd-io/etcd/contrib/mixin/mixin.libsonnet') + {
  _config+:: {
    // One dashboard variable and one alert group per etcd cluster: the exporter's --cluster-name /
    // clusters[].name (upstream default: `job`, which is the exporter's job for every cluster).
    clusterLabel: 'cluster',
    // `cluster!=""` keeps the exporter's own `up` out: it has no `cluster` label, so the `up` halves of
    // etcdMembersDown and etcdInsufficientMembers select nothing instead of firing whenever the exporter
    // is down. etcdMembersDown then fires from the members' peer send failures alone.
    etcd_selector: 'job=~".*etcd.*", cluster!=""',
    // Both labels differ per member; summing without them gives one series per cluster, as on directly
    // scraped members.
    etcd_instance_labels: 'instance, member',
  },
}
