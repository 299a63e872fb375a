#!/usr/bin/env bash
# Runs the end-to-end suite RUNS times in a row while stress-ng keeps every core busy (the loaded
# 2-core machine the tests must pass on), and prints one line per run: its number, the commit, the
# result and the duration. Exits non-zero when any run failed. Usage (from the repository root):
#   make stress-e2e RUNS=5        or        bash test-e2e/bin/under-load.sh 5
# stress-ng comes from the Debian package of that name; its workers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
cpus=${STRESS_CPUS:-$(nproc)}
command -v stress-ng >/dev/null || { echo "under-load: stress-ng is not installed (apt install stress-ng)" >&2; exit 2; }

pnpm exec turbo run build --filter=@odigos/test-e2e... --output-logs=errors-only
stress-ng --cpu "$cpus" --timeout 0 --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true' EXIT

failed=0
for i in $(seq 1 "$runs"); do
  log="${TMPDIR:-/tmp}/odigos-e2e-under-load-$i.log"
  start=$(date +%s)
  if (cd test-e2e && npx vitest run) >"$log" 2>&1; then result=passed; else result=FAILED; failed=$((failed + 1)); fi
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +Tests +[0-9]' | tail -1 | sed 's/^ *//')
  echo "run $i/$runs: $(git rev-parse --short HEAD) $result in $(( $(date +%s) - start )) s (stress-ng --cpu $cpus; $summary; log $log)"
done
echo "under-load: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]
