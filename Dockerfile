# syntax=docker/dockerfile:1
# The Odigos instrumentor image: builds the workspace, makes the production bundle with the one
# script the tests also use (tooling/bundle: the app's esbuild bundle, instrumentor.mjs and its
# chunks, with a package.json, LICENSE and third-party notices; no node_modules, dev code,
# tests or source maps; every import checked), and ships it on a Node 24 runtime as uid 1000
# (the chart's runAsUser), files owned by root.
#
#   docker build -t odigos-instrumentor .          # official node images from Docker Hub
#   make image                                     # no registry: bases made here (tooling/image)
#
# BUILD_IMAGE needs node and either pnpm or npm; RUNTIME_IMAGE needs /usr/local/bin/node and
# what it links (glibc, libstdc++) and nothing else. Behind a TLS-inspecting proxy, give the
# build steps its CA bundle as a secret (never stored in a layer):
#   docker build --secret id=extra-ca,src=/etc/ssl/certs/ca-certificates.crt .
# The pinned Node of .node-version (a test checks they agree): what the tests and the benchmark run on.
ARG NODE_VERSION=24.22.3
ARG BUILD_IMAGE=docker.io/library/node:${NODE_VERSION}-bookworm-slim
ARG RUNTIME_IMAGE=docker.io/library/node:${NODE_VERSION}-bookworm-slim

FROM ${BUILD_IMAGE} AS build
ENV CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /src
COPY package.json ./
# The pnpm of package.json's packageManager, unless the base has it.
RUN --mount=type=secret,id=extra-ca \
  if [ -f /run/secrets/extra-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; fi \
  && want="$(node -p 'require("./package.json").packageManager.split("@")[1]')" \
  && { [ "$(pnpm --version 2>/dev/null)" = "$want" ] || npm install --global "pnpm@$want"; }
# Dependencies first, so this layer is reused while only sources change.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN --mount=type=secret,id=extra-ca \
  if [ -f /run/secrets/extra-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; fi \
  && pnpm fetch
COPY . .
RUN --mount=type=secret,id=extra-ca \
  if [ -f /run/secrets/extra-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca; fi \
  && pnpm install --offline --frozen-lockfile \
  && node tooling/bundle/src/bundle.mjs /out

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /out/ ./
USER 1000:1000
EXPOSE 8080 8081
# glibc's malloc sized for a small process: two arenas instead of up to 8 per core (one per
# allocating thread: V8's GC and compiler threads, libuv's), and trim/mmap thresholds fixed at
# their initial 128 KB instead of growing to 32 MB (productionEnv in tooling/harness, a test
# checks they match). Re-measured on this Node 24 at 1000 workloads: one arena instead of two
# holds no less (98 MB after sync against 95-98) and costs CPU (tooling/bench/README.md, "Memory
# on Node 24").
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_TRIM_THRESHOLD_=131072
ENV MALLOC_MMAP_THRESHOLD_=131072
# V8 sized for a small, long-lived process: a 2 MB young-generation semi-space, and an old space
# allowed to grow to 1.3x its live size between full collections (V8's default is up to 4x).
# On this Node 24 at 1000 workloads: RSS after sync 95-98 MB instead of 138, peak 103-105 instead
# of 298. Re-chosen on Node 24 against --no-maglev (3 MB less, 35 % more CPU), a 1 MB
# semi-space (no less, 50 % more CPU), growth 20 %, --v8-pool-size=1 and --single-threaded
# (none less; the last 126 MB) (tooling/bench/README.md, "Memory on Node 24"). The tests and the
# benchmark run with the same flags (productionNodeFlags in tooling/harness; a test checks they
# match).
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=2", "--heap-growing-percent=30", "instrumentor.mjs"]
CMD ["--leader-elect"]
