#!/usr/bin/env bash
# CPU time the gateway spends per request, and which of its threads spends it.
#
# Throughput on a shared 2-core machine moves with whatever else runs; CPU time per request moves
# much less, so this is the figure to compare two builds by (run them in alternation). Starts the
# fake Google and the release gateway (file storage, 4 credentials with valid tokens), warms up for
# 1 s, then sends OpenAI chat requests closed-loop and reads the gateway's and the fake's CPU time
# from /proc/<pid>/stat (10 ms ticks) before and after.
#
# Usage: scripts/bench-cpu.sh [BIN_DIR]   (default: $CARGO_TARGET_DIR/release, built first)
# Knobs: BENCH_SECONDS (default 6), BENCH_CONCURRENCY (default 32), BENCH_CPU_KEY=1 (requests pay
# with an `sk-` key created for the run instead of the password).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${BENCH_SECONDS:-6}
C=${BENCH_CONCURRENCY:-32}
if [ -n "${1:-}" ]; then
    BIN=$1
else
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
    cargo build --release --quiet --bin gcli2api --example fake_google_server --example bench_client
fi
TOOLS=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples
CLIENT=$TOOLS/bench_client
WORK=$(mktemp -d -t gcli2api-bench-cpu.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$TOOLS/fake_google_server" --port 0 --no-record --accept-unissued-tokens > "$WORK/fake.out" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
FAKE=""
for _ in $(seq 100); do
    FAKE=$(sed -n 's/^listening on //p' "$WORK/fake.out")
    [ -n "$FAKE" ] && break
    sleep 0.05
done
mkdir -p "$WORK/creds"
expiry=$(date -u -d '+2 hours' '+%Y-%m-%dT%H:%M:%SZ')
for i in 1 2 3 4; do
    printf '{"client_id":"bench.apps.googleusercontent.com","client_secret":"bench-secret","refresh_token":"rt-bench-%d","project_id":"bench-p%d","token":"at-bench-%d-1","expiry":"%s"}\n' \
        "$i" "$i" "$i" "$expiry" > "$WORK/creds/bench-$i.json"
done
HOST=127.0.0.1 PORT=0 PASSWORD=bench-password CREDENTIALS_DIR=$WORK/creds LOG_LEVEL=warn LOG_FILE= \
    CODE_ASSIST_ENDPOINT=$FAKE OAUTH_PROXY_URL=$FAKE GOOGLEAPIS_PROXY_URL=$FAKE \
    RESOURCE_MANAGER_API_URL=$FAKE SERVICE_USAGE_API_URL=$FAKE \
    "$BIN/gcli2api" > "$WORK/gateway.out" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
port=""
for _ in $(seq 400); do
    port=$(ss -ltnpH 2>/dev/null | grep "pid=$GATEWAY_PID," | awk '{print $4}' | sed "s/.*://" | head -n1 || true)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "gateway did not start:" >&2; cat "$WORK/gateway.out" >&2; exit 1; }
printf '{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the benefits of connection pooling for an HTTP gateway in three sentences."}]}' \
    > "$WORK/chat.json"
BEARER=bench-password
if [ "${BENCH_CPU_KEY:-}" = 1 ]; then
    BEARER=$(curl -s -X POST -H 'Authorization: Bearer bench-password' -H 'Content-Type: application/json' \
        -d '{"total_quota": 1000000000}' "http://127.0.0.1:$port/auth/keys" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
fi
LOAD=(load --url "http://127.0.0.1:$port/v1/chat/completions" --header "Authorization: Bearer $BEARER"
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
