# The README's quick start is `make demo` and `make test`; each installs what is missing first.
SHELL := /bin/bash
.PHONY: deps build demo test typecheck lint rules

deps:
	@bash scripts/install-deps.sh

build: deps
	@npm run -s build

demo: deps
	@node --import tsx scripts/demo.ts

typecheck: deps
	@npm run -s typecheck

lint: deps
	@npm run -s lint
	@npm run -s format:check

test: deps typecheck lint
	@mkdir -p .tmp
	@set +e; npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json; rc=$$?; \
	  node scripts/test-summary.mjs .tmp/vitest.json; exit $$rc

rules: deps
	@npm run -s rules
