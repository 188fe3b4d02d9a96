#!/usr/bin/env bash
# Instructions per call of every row of the overhead benchmark, counted by
# valgrind's callgrind (deterministic, unlike wall time on a shared machine).
#
# Each row runs twice in the benchmark binary (OVERHEAD_ROW/OVERHEAD_ITERS
# mode, no criterion), LOW and HIGH times; start-up costs are the same in both,
# so (instructions(HIGH) − instructions(LOW)) / (HIGH − LOW) is the cost of one
# call.
#
# Usage: scripts/callgrind.sh [row-filter]      e.g. scripts/callgrind.sh happy/sync
# Needs: valgrind. LOW/HIGH may be set in the environment (default 1000/11000).
set -euo pipefail

cd "$(dirname "$0")/.."
LOW=${LOW:-1000}
HIGH=${HIGH:-11000}
FILTER=${1:-}

# Build the bench binary and find it.
BIN=$(cargo bench -p retry-runtime --bench overhead --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*overhead[^"]*\)".*/\1/p' | tail -n 1)
if [[ -z "$BIN" ]]; then
    echo "could not build the overhead benchmark" >&2
    exit 1
fi

# The row names, from the binary's own error message for an unknown row.
# (That run exits with status 2 on purpose, hence `|| true`.)
ROWS=$( (OVERHEAD_ROW=? OVERHEAD_ITERS=0 "$BIN" 2>&1 || true) | sed -n 's/^no row named ?; rows: //p')

instructions() { # row iterations
    OVERHEAD_ROW=$1 OVERHEAD_ITERS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-32s %12s\n' row instructions/call
for row in $ROWS; do
    [[ -n "$FILTER" && "$row" != *"$FILTER"* ]] && continue
    low=$(instructions "$row" "$LOW")
    high=$(instructions "$row" "$HIGH")
    awk -v r="$row" -v l="$low" -v h="$high" -v n=$((HIGH - LOW)) 'BEGIN { printf "%-32s %12.1f\n", r, (h - l) / n }'
done
