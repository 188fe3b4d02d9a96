#!/usr/bin/env bash
# Instructions per call of every row of the overhead benchmark, counted by
# valgrind's callgrind (deterministic, unlike wall time on a shared machine).
#
# Each row runs twice in the benchmark binary (OVERHEAD_ROW/OVERHEAD_ITERS
# mode, no criterion), LOW and HIGH times; start-up costs are the same in both,
# so (instructions(HIGH) − instructions(LOW)) / (HIGH − LOW) is the cost of one
# call.
#
# PROFILE picks how the benchmark is built, as users ship:
#   release   cargo's bench profile as it is (the default): 16 codegen units,
#             local ThinLTO;
#   thin-lto  codegen-units = 1 and ThinLTO across crates;
#   fat-lto   codegen-units = 1 and fat LTO;
#   tracing   release, built with `--features tracing`: the spans compiled
#             in and disabled by a level filter (the `spans-off` rows);
#   all       release, thin-lto and fat-lto, one column each.
# PROFILE may also list several, e.g. "release tracing": the `stats-off`
# rows of both columns and the `spans-off` rows come from one run.
# Each profile builds in its own target directory (target/callgrind-<profile>,
# `target` itself for release), so switching does not rebuild the others.
#
# BENCH picks the benchmark: overhead (the default, default features) or
# middleware (the tower layer against tower::retry, built with `--features tower`).
#
# Usage: [PROFILE=release|thin-lto|fat-lto|all] [BENCH=overhead|middleware] scripts/callgrind.sh [row-filter]
#        e.g. PROFILE=all LOW=200 HIGH=2200 scripts/callgrind.sh happy/sync
#             BENCH=middleware scripts/callgrind.sh
# Needs: valgrind. LOW/HIGH may be set in the environment (default 1000/11000).
set -euo pipefail

cd "$(dirname "$0")/.."
LOW=${LOW:-1000}
HIGH=${HIGH:-11000}
FILTER=${1:-}
PROFILE=${PROFILE:-release}
BENCH=${BENCH:-overhead}

case "$BENCH" in
    overhead) FEATURES=() ;;
    middleware) FEATURES=(--features tower) ;;
    *)
        echo "BENCH must be overhead or middleware (got $BENCH)" >&2
        exit 2
        ;;
esac

case "$PROFILE" in
    all) PROFILES=(release thin-lto fat-lto) ;;
    *)
        read -r -a PROFILES <<<"$PROFILE"
        for profile in "${PROFILES[@]}"; do
            case "$profile" in
                release | thin-lto | fat-lto | tracing) ;;
                *)
                    echo "PROFILE must list release, thin-lto, fat-lto or tracing, or be all (got $PROFILE)" >&2
                    exit 2
                    ;;
            esac
        done
        ;;
esac

# Builds the bench binary for one profile and prints its path.
build() { # profile
    local settings=() features=()
    case "$1" in
        release) ;;
        tracing) features=(--features tracing) ;;
        thin-lto) settings=(CARGO_PROFILE_BENCH_LTO=thin CARGO_PROFILE_BENCH_CODEGEN_UNITS=1
            CARGO_TARGET_DIR=target/callgrind-thin-lto) ;;
        fat-lto) settings=(CARGO_PROFILE_BENCH_LTO=fat CARGO_PROFILE_BENCH_CODEGEN_UNITS=1
            CARGO_TARGET_DIR=target/callgrind-fat-lto) ;;
    esac
    env "${settings[@]}" cargo bench -p retry-runtime "${FEATURES[@]}" "${features[@]}" --bench "$BENCH" --no-run --message-format=json 2>/dev/null |
        sed -n "s/.*\"executable\":\"\([^\"]*$BENCH[^\"]*\)\".*/\1/p" | tail -n 1
}

BINS=()
for profile in "${PROFILES[@]}"; do
    bin=$(build "$profile")
    if [[ -z "$bin" ]]; then
        echo "could not build the $BENCH benchmark ($profile)" >&2
        exit 1
    fi
    BINS+=("$bin")
done

# The row names, from the binary's own error message for an unknown row.
# (That run exits with status 2 on purpose, hence `|| true`.)
# Each binary's (a `tracing` build has more), and all of them in order of
# first appearance.
BIN_ROWS=()
for bin in "${BINS[@]}"; do
    BIN_ROWS+=("$( (OVERHEAD_ROW=? OVERHEAD_ITERS=0 "$bin" 2>&1 || true) | sed -n 's/^no row named ?; rows: //p')")
done
ROWS=$(printf '%s\n' "${BIN_ROWS[@]}" | tr ' ' '\n' | awk 'NF && !seen[$0]++')

instructions() { # binary row iterations
    OVERHEAD_ROW=$2 OVERHEAD_ITERS=$3 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-32s' row
for profile in "${PROFILES[@]}"; do printf ' %12s' "$profile"; done
printf '   (instructions/call)\n'
for row in $ROWS; do
    [[ -n "$FILTER" && "$row" != *"$FILTER"* ]] && continue
    printf '%-32s' "$row"
    for i in "${!BINS[@]}"; do
        bin=${BINS[$i]}
        # A row this build does not have (`spans-off` without `tracing`).
        if [[ " ${BIN_ROWS[$i]} " != *" $row "* ]]; then
            printf ' %12s' -
            continue
        fi
        low=$(instructions "$bin" "$row" "$LOW")
        high=$(instructions "$bin" "$row" "$HIGH")
        awk -v l="$low" -v h="$high" -v n=$((HIGH - LOW)) 'BEGIN { printf " %12.1f", (h - l) / n }'
    done
    printf '\n'
done
