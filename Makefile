# The two set-up commands of the README. Each works on a fresh clone: it puts the pinned Node
# (.node-version, what the image ships) first on PATH, fetching it once into the cache when the
# machine's node is another version (tooling/node/src/ensure-node.sh); finds pnpm (or runs the
# pinned one through npx); installs from the lockfile, then runs.
NODE_BIN := $(shell bash tooling/node/src/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error could not get the pinned Node $(shell cat .node-version): see the ensure-node lines above)
endif
export PATH := $(NODE_BIN):$(PATH)
PNPM := $(shell command -v pnpm >/dev/null 2>&1 && echo pnpm || echo npx --yes pnpm@10.34.8)

.PHONY: start test install bench image node stress-e2e

## Prints the pinned Node's directory (fetched into ~/.cache/odigos-ts/node when missing).
node:
	@echo $(NODE_BIN)

install:
	$(PNPM) install --frozen-lockfile

## Runs the instrumentor; with no cluster configured, on a local control plane with a demo.
start: install
	$(PNPM) start

## Lint, typecheck, unit tests and end-to-end tests against a real kube-apiserver.
test: install
	@echo "make test: Node $$(node --version) from $(NODE_BIN)"
	$(PNPM) run lint
	$(PNPM) run typecheck
	$(PNPM) run docs
	$(PNPM) test

## The benchmark on the pinned Node; its flags in ARGS, e.g. make bench ARGS="--workloads 5000".
bench: install
	$(PNPM) bench $(ARGS)

## The end-to-end suite RUNS times in a row under stress-ng --cpu <cores> (test-e2e/bin/under-load.sh).
RUNS ?= 5
stress-e2e: install
	PATH="$(PATH)" bash test-e2e/bin/under-load.sh $(RUNS)

## The container image from the Dockerfile, built with podman on bases made here from Debian
## packages and Node from npm (no registry needed), then run as the chart runs it against a local
## control plane (tooling/image/build.sh).
image: install
	$(PNPM) exec turbo run build --filter=@odigos/test-e2e... --output-logs=errors-only
	PNPM="$(PNPM)" bash tooling/image/build.sh
