# The README's quick start is `make demo` and `make test`; each installs what is missing first.
SHELL := /bin/bash
.PHONY: deps tools build demo test typecheck lint rules kubernetes

deps:
	@bash scripts/install-deps.sh

# The newer etcd, Prometheus and Alertmanager of the version legs: Debian's own packages unpacked into
# .tools/ (never installed; scripts/fetch-tools.sh). Only `make test` needs them.
tools:
	@bash scripts/fetch-tools.sh >/dev/null

build: deps
	@npm run -s build

# After the demo, `node bin/etcd-monitor.js` (the README's commands) runs the dist/ this builds.
demo: build
	@node --import tsx scripts/demo.ts

typecheck: deps
	@npm run -s typecheck

lint: deps
	@npm run -s lint
	@npm run -s format:check

# The type check runs beside eslint and prettier (2 cores; no live test runs yet), each one's output kept
# in .tmp/check-*.log and printed after; any failure stops `make test` before vitest, as before.
test: deps tools
	@mkdir -p .tmp
	@npm run -s typecheck >.tmp/check-typecheck.log 2>&1 & tc=$$!; \
	  { npm run -s lint && npm run -s format:check; } >.tmp/check-lint.log 2>&1; lint=$$?; \
	  wait $$tc; typecheck=$$?; cat .tmp/check-typecheck.log .tmp/check-lint.log; \
	  [ $$typecheck -eq 0 ] && [ $$lint -eq 0 ]
	@set +e; rm -f .tmp/vitest-*.json; \
	  npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json; rc=$$?; \
	  bash scripts/test-legs.sh; legs=$$?; \
	  node scripts/test-summary.mjs .tmp/vitest.json $$(ls .tmp/vitest-*.json 2>/dev/null); \
	  [ $$rc -eq 0 ] && [ $$legs -eq 0 ]

rules: deps
	@npm run -s rules

# deploy/kubernetes/ from scripts/kubernetes/ (after `make rules` or a dashboard change: they are embedded).
kubernetes: deps
	@npm run -s kubernetes
