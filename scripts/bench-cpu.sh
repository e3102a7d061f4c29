#!/usr/bin/env bash
# CPU time the gateway spends per request, and which of its threads spends it.
#
# Throughput on a shared 2-core machine moves with whatever else runs; CPU time per request moves
# much less, so this is the figure to compare two builds by (run them in alternation). Starts the
# fake Google and the release gateway (file storage, 4 credentials with valid tokens) through the one
# launcher (examples/dev_stack, via bench-common.sh), warms up for 1 s, then sends OpenAI chat
# requests closed-loop and reads the gateway's and the fake's CPU time from /proc/<pid>/stat (10 ms
# ticks) before and after.
#
# Usage: scripts/bench-cpu.sh [BIN_DIR]   (the gateway of BIN_DIR/gcli2api, started by the launcher
# and measured with the client of $CARGO_TARGET_DIR/release, which must be built; without BIN_DIR
# everything is built first and comes from there)
# Knobs: BENCH_SECONDS (default 6), BENCH_CONCURRENCY (default 32), BENCH_CPU_KEY=1 (requests pay
# with an `sk-` key created for the run instead of the password).
set -euo pipefail

cd "$(dirname "$0")/.."
if [ -n "${1:-}" ]; then
    BENCH_GATEWAY_BIN=$1/gcli2api
    BENCH_SKIP_BUILD=1
fi
source scripts/bench-common.sh
SECS=${BENCH_SECONDS:-6}
C=${BENCH_CONCURRENCY:-32}
CLIENT=$BIN/examples/bench_client

bench_init gcli2api-bench-cpu.XXXXXX
build_release --bin gcli2api --example bench_client
# The launcher runs the fake in its own process: FAKE_PID's CPU time is the fake's.
start_fake fake
write_credentials "$WORK/creds" 4
start_gateway gateway "$WORK/creds"
printf '{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the benefits of connection pooling for an HTTP gateway in three sentences."}]}' \
    > "$WORK/chat.json"
BEARER=$PASSWORD
if [ "${BENCH_CPU_KEY:-}" = 1 ]; then
    BEARER=$(curl -s -X POST -H "Authorization: Bearer $PASSWORD" -H 'Content-Type: application/json' \
        -d '{"total_quota": 1000000000}' "$GATEWAY_URL/auth/keys" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
fi
LOAD=(load --url "$GATEWAY_URL/v1/chat/completions" --header "Authorization: Bearer $BEARER"
      --body "$WORK/chat.json" --concurrency "$C")

ticks() { awk '{print $14 + $15}' "$1/stat"; }
threads() {
    for task in /proc/"$GATEWAY_PID"/task/*; do
        printf '%s %s\n' "$(tr ' ' '_' < "$task/comm")" "$(ticks "$task")"
    done | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort
}

"$CLIENT" "${LOAD[@]}" --seconds 1 > /dev/null
gateway_before=$(ticks /proc/"$GATEWAY_PID")
fake_before=$(ticks /proc/"$FAKE_PID")
threads > "$WORK/threads.before"
"$CLIENT" "${LOAD[@]}" --seconds "$SECS" --warmup 0 --out "$WORK/load.json" > /dev/null
gateway_after=$(ticks /proc/"$GATEWAY_PID")
fake_after=$(ticks /proc/"$FAKE_PID")
threads > "$WORK/threads.after"

requests=$(sed -n 's/.*"requests": *\([0-9]*\).*/\1/p' "$WORK/load.json" | head -n1)
[ -z "$requests" ] && requests=$(tr ',' '\n' < "$WORK/load.json" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p' | head -n1)
per_request() { awk -v t="$1" -v n="$requests" 'BEGIN {printf "%.1f", t * 10000 / n}'; }
echo "concurrency $C, $SECS s: $requests requests"
echo "gateway CPU per request: $(per_request $((gateway_after - gateway_before))) µs"
echo "fake Google CPU per request: $(per_request $((fake_after - fake_before))) µs"
join "$WORK/threads.before" "$WORK/threads.after" | while read -r name before after; do
    echo "  thread $name: $(per_request $((after - before))) µs per request"
done
