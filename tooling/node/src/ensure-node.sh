#!/usr/bin/env bash
# Prints the directory that holds the project's pinned Node (`.node-version` at the root), so
# that `make` can put it first on PATH: the tests, the benchmark and `make start` then run on the
# Node the image ships, whatever Node the machine has.
#
#   bash tooling/node/src/ensure-node.sh              # -> /usr/local/bin, or the cached copy's bin/
#   bash tooling/node/src/ensure-node.sh --official   # npm's build of it (what the image ships), never PATH's
#
# Where it looks, in order:
#   1. ODIGOS_NODE: a `node` executable you have (it must be the pinned version);
#   2. `node` on PATH, when it is the pinned version (not with --official);
#   3. the cache, ${XDG_CACHE_HOME:-~/.cache}/odigos-ts/node/v<version>-<platform>/bin;
#   4. else it fetches npm's `node-linux-<arch>` package at that exact version with `npm pack`
#      (the official Node.js binary; npm checks the registry's own sha512 of it), checks the
#      tarball against the integrity pinned in tooling/node/integrity.txt, and unpacks it
#      into the cache with one atomic rename (two runs at once are fine).
# Progress and errors go to stderr; stdout is only the directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
say() { printf 'ensure-node: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

official=false
case "${1:-}" in
  "") ;;
  --official) official=true ;;
  *) printf 'usage: %s [--official]\n' "$0" >&2; exit 2 ;;
esac

want=$(tr -d ' \r\n' <"$root/.node-version")
[ -n "$want" ] || fail "$root/.node-version is empty"

# The version of the node at $1, or nothing when it does not run.
version_of() { "$1" --version 2>/dev/null || true; }

if [ -n "${ODIGOS_NODE:-}" ]; then
  got=$(version_of "$ODIGOS_NODE")
  [ "$got" = "v$want" ] || fail "ODIGOS_NODE=$ODIGOS_NODE is Node ${got:-(does not run)}, not the pinned v$want (.node-version)"
  dirname "$ODIGOS_NODE"
  exit 0
fi

if ! $official && command -v node >/dev/null 2>&1 && [ "$(version_of node)" = "v$want" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
  *) fail "no pinned Node build for $(uname -s)-$(uname -m): install Node v$want and put it first on PATH, or set ODIGOS_NODE" ;;
esac

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/odigos-ts/node
dir=$cache_root/v$want-$platform
if [ "$(version_of "$dir/bin/node")" = "v$want" ]; then
  printf '%s\n' "$dir/bin"
  exit 0
fi

integrity=$(awk -v v="$want" -v p="$platform" '$1 == v && $2 == p { print $3 }' "$here/../integrity.txt")
[ -n "$integrity" ] || fail "tooling/node/integrity.txt has no line for $want $platform: add the one 'npm view node-$platform@$want dist.integrity' prints"
command -v npm >/dev/null 2>&1 || fail "needs npm (any version) to fetch Node v$want, or set ODIGOS_NODE to a Node v$want you have"
command -v openssl >/dev/null 2>&1 || fail "needs openssl to check the fetched Node's integrity"

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "fetching Node v$want (npm package node-$platform, 50 MB; once, into $dir)"
(cd "$work" && npm pack --silent "node-$platform@$want" >/dev/null) ||
  fail "npm pack node-$platform@$want failed (is the npm registry reachable?)"
tarball=$work/node-$platform-$want.tgz
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | openssl base64 -A)"
[ "$got" = "$integrity" ] || fail "node-$platform@$want's tarball is $got, not the pinned $integrity: not unpacked"
mkdir "$work/node"
tar -xzf "$tarball" -C "$work/node" --strip-components=1 --no-same-owner
[ "$(version_of "$work/node/bin/node")" = "v$want" ] || fail "node-$platform@$want does not run here as Node v$want"
# Another run may have put it there meanwhile: then theirs is as good as ours.
mv -T "$work/node" "$dir" 2>/dev/null || [ "$(version_of "$dir/bin/node")" = "v$want" ] ||
  fail "could not move Node v$want into $dir"
printf '%s\n' "$dir/bin"
