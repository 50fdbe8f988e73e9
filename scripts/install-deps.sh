#!/usr/bin/env bash
# Installs what etcd-monitor needs on a fresh Debian machine; safe to run again (does nothing when all is there).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v etcdctl >/dev/null || need_apt+=(etcd-client)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v ip >/dev/null || need_apt+=(iproute2)
# Only `docker-compose config` is used (CI validates docker-compose.yml); Docker itself need not run.
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
# Renders the upstream etcd mixin for test/compat/etcd-mixin.test.ts (deploy/etcd-mixin/).
command -v jsonnet >/dev/null || need_apt+=(jsonnet)
# `etcd-monitor completion zsh` is tested in a real zsh (test/cli/completion.test.ts).
command -v zsh >/dev/null || need_apt+=(zsh)
# The status page's browser test (test/server/status-page-browser.test.ts) drives it through playwright-core.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian packages may start their own daemons on default ports; the project never relies on them.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
