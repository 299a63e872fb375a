# The two set-up commands of the README. Each works on a fresh clone: it finds
# pnpm (or runs the pinned one through npx), installs from the lockfile, then runs.
PNPM := $(shell command -v pnpm >/dev/null 2>&1 && echo pnpm || echo npx --yes pnpm@10.34.8)

.PHONY: start test install bench

install:
	$(PNPM) install --frozen-lockfile

## Runs the instrumentor; with no cluster configured, on a local control plane with a demo.
start: install
	$(PNPM) start

## Lint, typecheck, unit tests and end-to-end tests against a real kube-apiserver.
test: install
	$(PNPM) run lint
	$(PNPM) run typecheck
	$(PNPM) run docs
	$(PNPM) test

bench: install
	$(PNPM) bench
