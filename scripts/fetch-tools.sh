#!/usr/bin/env bash
# Fetches the newer etcd, Prometheus and Alertmanager that the compatibility tests run next to Debian
# bookworm's (etcd 3.4.23, Prometheus 2.42, Alertmanager 0.25), from Debian's own newer suite, without
# touching the machine's apt configuration: a private sources list and package lists under .tools/apt,
# `apt-get download` of the .deb files, and `dpkg-deb -x` into .tools/<package>-<version>/ (git-ignored).
# Nothing is installed system-wide. Safe to run again: a version already unpacked is not fetched again.
#
# Prints, and writes to .tools/versions.env, one NAME=path line per binary (sourced by `make test`):
#   ETCD_3_5_BIN, ETCDCTL_3_5_BIN, PROMETHEUS_3_BIN, PROMTOOL_3_BIN, ALERTMANAGER_0_3_BIN, AMTOOL_0_3_BIN
# Exits non-zero naming the package when a version cannot be had: tests that need it then fail loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE="${ETCD_MONITOR_TOOLS_SUITE:-sid}"
MIRROR="${ETCD_MONITOR_TOOLS_MIRROR:-http://deb.debian.org/debian}"
TOOLS="$PWD/.tools"
APT="$TOOLS/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" >"$APT/sources.list"
# Dir::State::status points at the machine's dpkg database read-only (apt needs one); nothing writes it.
APT_OPTS=(
  -o "Dir::Etc::sourcelist=$APT/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
  -o "Dir::State::status=/var/lib/dpkg/status" -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)

# package, version pattern (a shell glob on Debian's version), binaries inside it (name in usr/bin -> variable)
MATRIX=(
  "etcd-server|3.5.*|etcd:ETCD_3_5_BIN"
  "etcd-client|3.5.*|etcdctl:ETCDCTL_3_5_BIN"
  "prometheus|3.*|prometheus:PROMETHEUS_3_BIN"
  "promtool|3.*|promtool:PROMTOOL_3_BIN"
  "prometheus-alertmanager|0.3*|prometheus-alertmanager:ALERTMANAGER_0_3_BIN amtool:AMTOOL_0_3_BIN"
)

lists_fresh() { [ -n "$(find "$APT/lists" -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; }

candidate() {
  apt-cache "${APT_OPTS[@]}" show "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1
}

# The unpacked directory of a package whose version matches, if one is already there.
unpacked() {
  local pkg=$1 pattern=$2 dir version
  for dir in "$TOOLS/$pkg"-*/; do
    [ -d "$dir" ] || continue
    version=${dir%/}
    version=${version##*/"$pkg"-}
    # shellcheck disable=SC2053
    [[ $version == $pattern ]] && [ -f "$dir/.complete" ] && echo "${dir%/}" && return 0
  done
  return 1
}

env_lines=()
updated=0
for entry in "${MATRIX[@]}"; do
  IFS='|' read -r pkg pattern bins <<<"$entry"
  if ! dir=$(unpacked "$pkg" "$pattern"); then
    if [ $updated -eq 0 ] && ! lists_fresh; then
      echo "fetch-tools: reading Debian $SUITE's package list (private, under .tools/apt)" >&2
      apt-get "${APT_OPTS[@]}" -qq update >&2
    fi
    updated=1
    version=$(candidate "$pkg")
    # shellcheck disable=SC2053
    if [ -z "$version" ] || [[ $version != $pattern ]]; then
      echo "fetch-tools: Debian $SUITE has no $pkg $pattern (found: ${version:-none})" >&2
      exit 1
    fi
    (cd "$APT/debs" && apt-get "${APT_OPTS[@]}" -qq download "$pkg=$version" >&2)
    deb=$(ls "$APT/debs/${pkg}_${version#*:}"_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || deb=$(ls "$APT/debs/${pkg}_"*.deb | head -1)
    dir="$TOOLS/$pkg-$version"
    rm -rf "$dir"
    dpkg-deb -x "$deb" "$dir"
    touch "$dir/.complete"
    rm -f "$deb"
    echo "fetch-tools: unpacked $pkg $version into ${dir#"$PWD"/}" >&2
  fi
  for bin in $bins; do
    name=${bin%%:*}
    var=${bin##*:}
    path="$dir/usr/bin/$name"
    [ -x "$path" ] || { echo "fetch-tools: $pkg has no usr/bin/$name" >&2; exit 1; }
    env_lines+=("$var=$path")
  done
done

printf '%s\n' "${env_lines[@]}" >"$TOOLS/versions.env.tmp"
mv "$TOOLS/versions.env.tmp" "$TOOLS/versions.env"

# One directory of links per version leg, named as Debian names the commands: a leg puts it first on
# PATH, so every test, harness and script that runs `etcd`, `promtool`, `amtool`… runs the newer one.
# shellcheck disable=SC1091
. "$TOOLS/versions.env"
leg() {
  local dir="$TOOLS/leg-$1"
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  while [ $# -gt 0 ]; do ln -s "$2" "$dir/$1" && shift 2; done
}
leg etcd-3.5 etcd "$ETCD_3_5_BIN" etcdctl "$ETCDCTL_3_5_BIN"
leg prometheus-3 prometheus "$PROMETHEUS_3_BIN" promtool "$PROMTOOL_3_BIN"
leg alertmanager-0.3 prometheus-alertmanager "$ALERTMANAGER_0_3_BIN" amtool "$AMTOOL_0_3_BIN"
cat "$TOOLS/versions.env"
