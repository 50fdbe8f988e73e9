#!/usr/bin/env bash
# The version legs of `make test`: after the whole suite has run on Debian bookworm's etcd 3.4.23,
# Prometheus 2.42 and Alertmanager 0.25, the suites where a version can make a difference run again with
# the newer one first on PATH (scripts/fetch-tools.sh unpacks them into .tools/leg-*). Each leg writes
# .tmp/vitest-<leg>.json; scripts/test-summary.mjs prints a line per leg and the total.
# Two streams: the etcd leg (the longest, ≈370 s) in one, the others one after another in the second
# (≈380 s), so at most two live files run at once — each stream is one file at a time, as in the main run.
# Measured three times on the 2-core CI machine: every file passed each time; the legs took 604 s and 571 s
# while other work loaded it (load average 9–18), 421 s at load average ≈5 (per file as fast as alone),
# against ≈790 s one after another on an idle machine. A leg's output is printed in one block when it ends
# (.tmp/vitest-<leg>.log keeps it). scripts/test-durations.mjs shows where the time goes.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp

# leg name | PATH directory | test files
# test/alerts/e2e-alerting.test.ts is on the Prometheus and Alertmanager legs, not the etcd one: its rules
# read only the exporter's series, and test/exporter/cluster-faults.test.ts asserts on this leg every
# series value they read for the same two faults (one member down; quorum lost with a reachable survivor).
# test/exporter/sharding.test.ts is on the Prometheus leg for Prometheus' hashmod relabelling and the README's
# remote-write prometheus.yml (≈30 s).
LEGS=(
  "etcd-3.5|.tools/leg-etcd-3.5|test/harness/etcd-cluster.test.ts test/harness/simulated-members.test.ts test/etcd/member-client.test.ts test/etcd/probe-lease.test.ts test/collect/cluster-collector.test.ts test/exporter/cluster-faults.test.ts test/exporter/unreachable-member.test.ts test/exporter/error-codes.test.ts test/exporter/multi-cluster.test.ts test/exporter/discovery.test.ts test/dashboards/queries.test.ts test/ctl/kv.test.ts test/ctl/cluster-ops.test.ts test/ctl/write-out.test.ts test/ctl/snapshot-status.test.ts test/loadgen/bench-cluster.test.ts test/loadgen/readiness-slo.test.ts test/compat/etcd-mixin.test.ts test/deploy/pod-run.test.ts"
  "prometheus-3|.tools/leg-prometheus-3|test/expose/reexpose.test.ts test/alerts/rules-promtool.test.ts test/alerts/rules-live.test.ts test/alerts/rules-thresholds-live.test.ts test/dashboards/queries.test.ts test/dashboards/multi-cluster.test.ts test/alerts/e2e-alerting.test.ts test/compat/etcd-mixin.test.ts test/compat/kube-prometheus-stack.test.ts test/exporter/sharding.test.ts"
  "alertmanager-0.3|.tools/leg-alertmanager-0.3|test/alerts/alertmanager-config.test.ts test/alerts/alertmanager-delivery.test.ts test/stack/alertmanager-sink.test.ts test/alerts/e2e-alerting.test.ts"
)

for entry in "${LEGS[@]}"; do
  IFS='|' read -r name dir files <<<"$entry"
  if [ ! -d "$dir" ]; then
    echo "test-legs: $dir is missing (scripts/fetch-tools.sh makes it)" >&2
    exit 1
  fi
done

# Runs one leg with its output in .tmp/vitest-<leg>.log, then prints that log (one leg at a time).
run_leg() {
  local name dir files log rc=0
  IFS='|' read -r name dir files <<<"$1"
  log=".tmp/vitest-$name.log"
  {
    echo "=== version leg $name: $(ls "$dir" | tr '\n' ' ')"
    # etcdctl has no --version (it is `etcdctl version`); the others have no `version` command.
    for bin in "$dir"/*; do
      out=$("$bin" --version 2>&1) || out=$("$bin" version 2>&1) || out="$(basename "$bin"): no version"
      echo "    ${out%%$'\n'*}"
    done
    # shellcheck disable=SC2086
    PATH="$PWD/$dir:$PATH" npx vitest run $files --reporter=default --reporter=json \
      --outputFile.json=".tmp/vitest-$name.json" || rc=1
  } >"$log" 2>&1
  flock .tmp/test-legs.lock cat "$log"
  return $rc
}

# Stream 1: the first leg; stream 2: the rest, one after another.
run_leg "${LEGS[0]}" &
first=$!
trap 'kill "$first" 2>/dev/null' INT TERM
rest=0
for entry in "${LEGS[@]:1}"; do run_leg "$entry" || rest=1; done
rc=0
wait "$first" || rc=1
[ "$rest" -eq 0 ] || rc=1
exit $rc
