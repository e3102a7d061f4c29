#!/usr/bin/env bash
# Keyed-traffic benchmark: c=32 non-stream chat through one gateway with the password versus one
# `sk-` key, and versus 1,000 distinct keys in turn, on the files, Redis and PostgreSQL backends.
# Password and key figures are taken in alternating rounds against the same gateway, so a change in
# the machine's speed falls on both alike. Prints a markdown table with PASS/MISS (key ≥ 0.7×
# password) per backend and writes it to BENCH_KEYS_OUT.
#
# Knobs (environment): BENCH_KEYS_SECONDS (per figure, default 8), BENCH_KEYS_BACKENDS (default
# "files redis postgres"), BENCH_KEYS_OUT (default docs/benchmark-keys.md), REDIS_URI (default
# redis://127.0.0.1:6379), POSTGRES_DSN (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable: loopback, no TLS, comparable with runs before the store spoke TLS),
# CARGO_TARGET_DIR. Redis keys and the PostgreSQL schema live under a prefix of their own
# (`benchkeys_<pid>`), removed afterwards, so tests sharing those servers are not disturbed.
# `scripts/bench.sh` runs this as its keyed-traffic section.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-common.sh
SECONDS_PER_FIGURE=${BENCH_KEYS_SECONDS:-8}
BACKENDS=${BENCH_KEYS_BACKENDS:-files redis postgres}
OUT=${BENCH_KEYS_OUT:-$ROOT/docs/benchmark-keys.md}
REDIS_URI=${REDIS_URI:-redis://127.0.0.1:6379}
POSTGRES_DSN=${POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
MODEL=gemini-2.5-flash
CONCURRENCY=32
MANY_KEYS=1000
GOAL=0.7
PREFIX=benchkeys_$$

drop_shared_data() {
    redis-cli -u "$REDIS_URI" --scan --pattern "$PREFIX:*" 2>/dev/null \
        | xargs -r redis-cli -u "$REDIS_URI" DEL > /dev/null 2>&1 || true
    psql "$POSTGRES_DSN" -q -c "DROP SCHEMA IF EXISTS \"$PREFIX\" CASCADE" > /dev/null 2>&1 || true
}

# Run by the common cleanup once the gateways are stopped.
on_cleanup() { drop_shared_data; }
bench_init gcli2api-bench-keys.XXXXXX

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

build_release --bin gcli2api --example bench_client
CLIENT=$BIN/examples/bench_client

# start_gateway_on BACKEND CREDENTIAL_DIR: the common start_gateway with the backend's store (Redis
# and PostgreSQL under PREFIX); sets GATEWAY_URL and GATEWAY_PID.
start_gateway_on() {
    local backend=$1 dir=$2 store=()
    case $backend in
        redis) store=(REDIS_URI="$REDIS_URI" STORAGE_PREFIX="$PREFIX") ;;
        postgres) store=(POSTGRES_DSN="$POSTGRES_DSN" STORAGE_PREFIX="$PREFIX") ;;
    esac
    start_gateway "gateway-$backend" "$dir" "${store[@]}"
}

# upload_credentials DIR: a shared store starts empty; the files store read them from DIR already.
upload_credentials() {
    local args=() f
    for f in "$1"/*.json; do
        args+=(-F "files=@$f")
    done
    curl -sf -o /dev/null -H "Authorization: Bearer $PASSWORD" "${args[@]}" "$GATEWAY_URL/auth/upload"
}

printf '{"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"%s"}]}' \
    "$MODEL" "Summarise the benefits of connection pooling for an HTTP gateway in three sentences." \
    > "$WORK/chat.json"

# compare KEYS_FILE NAME: keys (in turn) versus the password, alternating rounds; the bench client
# calls its two targets "gateway" (here: the keys) and "direct" (here: the password).
compare() {
    "$CLIENT" compare-load \
        --gateway-url "$GATEWAY_URL/v1/chat/completions" --gateway-body "$WORK/chat.json" \
        --gateway-keys "$1" \
        --direct-url "$GATEWAY_URL/v1/chat/completions" --direct-body "$WORK/chat.json" \
        --direct-header "Authorization: Bearer $PASSWORD" \
        --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_FIGURE" --rounds 4 \
        --out-gateway "$WORK/$2_keys.json" --out-direct "$WORK/$2_password.json" > /dev/null
}

rps() { jq -r '.rps' "$1"; }
errors() { jq -r '.errors' "$1"; }

start_fake fake
write_credentials "$WORK/creds" 4
ROWS=()
for backend in $BACKENDS; do
    drop_shared_data
    mkdir -p "$WORK/dir-$backend"
    cp "$WORK/creds"/*.json "$WORK/dir-$backend/"
    start_gateway_on "$backend" "$WORK/dir-$backend"
    [ "$backend" = files ] || upload_credentials "$WORK/creds"
    log "$backend: gateway on $GATEWAY_URL; creating $MANY_KEYS keys"
    "$CLIENT" make-keys --url "$GATEWAY_URL" --password "$PASSWORD" --count "$MANY_KEYS" \
        --keys-out "$WORK/many.keys" > /dev/null
    head -n 1 "$WORK/many.keys" > "$WORK/one.keys"
    log "$backend: c=$CONCURRENCY, one key vs password, alternating"
    compare "$WORK/one.keys" "${backend}_one"
    log "$backend: c=$CONCURRENCY, $MANY_KEYS keys in turn vs password, alternating"
    compare "$WORK/many.keys" "${backend}_many"
    stop "$GATEWAY_PID"
    row=$(jq -rn --arg backend "$backend" --argjson goal "$GOAL" \
        --slurpfile op "$WORK/${backend}_one_password.json" --slurpfile ok "$WORK/${backend}_one_keys.json" \
        --slurpfile mp "$WORK/${backend}_many_password.json" --slurpfile mk "$WORK/${backend}_many_keys.json" '
        def r: . * 100 | round / 100;
        ($ok[0].rps / $op[0].rps) as $one | ($mk[0].rps / $mp[0].rps) as $many |
        "| \($backend) | \($op[0].rps | round) | \($ok[0].rps | round) | \($one | r)× | \($mp[0].rps | round) | \($mk[0].rps | round) | \($many | r)× | \($ok[0].latency.p99_us / 1000 | r) / \($mk[0].latency.p99_us / 1000 | r) | \($ok[0].errors + $mk[0].errors) | \(if $one >= $goal and $many >= $goal then "PASS" else "MISS" end) |"')
    ROWS+=("$row")
done

{
    echo "## Keyed traffic (\`scripts/bench-keys.sh\`)"
    echo
    echo "c=$CONCURRENCY non-stream chat ($MODEL) through one gateway with 4 credentials against the fake Google; each pair measured in 4 alternating rounds of $((SECONDS_PER_FIGURE / 4)) s after 1 s warm-up. Goal: key ≥ ${GOAL}× password, for one key and for $MANY_KEYS keys in turn. $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores."
    echo
    echo "| Backend | password req/s | one key req/s | ratio | password req/s | $MANY_KEYS keys req/s | ratio | key p99 ms (one / many) | key errors | goal |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
} > "$WORK/table.md"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/table.md" "$OUT"
cat "$WORK/table.md"
log "written to $OUT"
