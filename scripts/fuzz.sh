#!/usr/bin/env bash
# Property fuzzing on stable Rust (proptest, tests/fuzz.rs): runs every target — request and response
# converters, schema cleaner, model-name parser, SSE parser — for N minutes each (default 1), with
# fresh random seeds each round. A failure prints the shrunk input and exits non-zero.
#
#   scripts/fuzz.sh [MINUTES] [TARGET-FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-1}
FILTER=${2:-}
SECONDS_EACH=$((MINUTES * 60))
TARGETS=$(cargo test --quiet --test fuzz -- --list 2>/dev/null | sed -n 's/: test$//p' | grep -- "$FILTER" || true)
[ -n "$TARGETS" ] || { echo "no fuzz target matches '$FILTER'" >&2; exit 2; }
for target in $TARGETS; do
    echo "== $target for $MINUTES minute(s)"
    FUZZ_SECONDS=$SECONDS_EACH cargo test --quiet --test fuzz -- --exact "$target"
done
