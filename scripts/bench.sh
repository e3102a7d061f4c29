#!/usr/bin/env bash
# Gateway-versus-direct benchmark against the in-repository fake Google.
#
# Builds the release binaries, then measures in one run (each figure bounded in time):
#   - non-stream chat at concurrency 1 and 32: requests/s and latency, through the gateway (at
#     LOG_LEVEL=warn, no log file), through the same binary at the shipped logging defaults
#     (LOG_LEVEL=info, a log file) and straight to the fake with the equivalent Code Assist envelope;
#   - streaming: time to first token, total time of a 100-chunk stream, and the gap between a
#     chunk leaving the fake (stamped with its send time) and reaching the client;
#   - memory: idle RSS with 1 and with 10,000 credentials, peak RSS with 1,000 open streams;
#   - keyed traffic: password versus `sk-` keys per backend (scripts/bench-keys.sh).
# Prints the table with PASS/MISS per goal and writes it to docs/benchmark.md.
#
# Knobs (environment): BENCH_SECONDS (per load figure, default 10), BENCH_STREAMS (streams per
# streaming figure, default 40), BENCH_OUT (markdown path, default docs/benchmark.md),
# BENCH_RESULTS (keep the raw JSON results in this directory), CARGO_TARGET_DIR (where the
# release build goes, default ./target).
#
# `scripts/bench.sh load` runs only the non-stream figures (warn, defaults, direct at c=1 and c=32)
# and prints their ratios; it writes nothing.
# `scripts/bench.sh bodies` runs only the request-body memory budget (scripts/bench-bodies.sh).
# `scripts/bench.sh hostile` runs only the CPU cost of 20 MB hostile bodies (scripts/bench-hostile.sh).
# `scripts/bench-cpu.sh [BIN_DIR]` measures the gateway's CPU time per request and per thread, the
# figure to compare two builds by when the machine is shared.
# `scripts/bench.sh growth` runs only the growth figures (scripts/bench-growth.sh), which a full run
# appends as its last section (BENCH_SKIP_GROWTH=1 leaves them out).
set -euo pipefail

cd "$(dirname "$0")/.."
if [ "${1:-}" = bodies ]; then
    exec scripts/bench-bodies.sh
fi
if [ "${1:-}" = growth ]; then
    exec scripts/bench-growth.sh
fi
if [ "${1:-}" = hostile ]; then
    exec scripts/bench-hostile.sh
fi
ONLY_LOAD=0
if [ "${1:-}" = load ]; then
    ONLY_LOAD=1
fi
source scripts/bench-common.sh
LOAD_SECONDS=${BENCH_SECONDS:-10}
STREAMS=${BENCH_STREAMS:-40}
# Short rounds, so a change in what else runs on the machine falls on every target alike.
LOAD_ROUNDS=10
OUT=${BENCH_OUT:-$ROOT/docs/benchmark.md}
MODEL=gemini-2.5-flash
CHUNKS=100
CHUNK_INTERVAL_MS=1
HOLD_STREAMS=1000

bench_init gcli2api-bench.XXXXXX
RESULTS=${BENCH_RESULTS:-$WORK/results}
mkdir -p "$RESULTS"

# Streams, the gateway's upstream connections and the fake's all need descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

build_release --bin gcli2api --example bench_client
CLIENT=$BIN/examples/bench_client

# ---- machine ------------------------------------------------------------------------------
{
    echo "nproc: $(nproc)"
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "rustc: $(rustc --version)"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} > "$RESULTS/machine.txt"

# ---- helpers ------------------------------------------------------------------------------
# start_fake, write_credentials and start_gateway are in scripts/bench-common.sh.
rss_of() { "$CLIENT" rss --pid "$1" --out "$RESULTS/$2.json" > /dev/null; }

# load_ratios C: prints the figures of the three targets at concurrency C beside each other.
load_ratios() {
    python3 - "$RESULTS" "$1" <<'PY'
import json, sys
results, c = sys.argv[1], sys.argv[2]
r = {n: json.load(open(f"{results}/nonstream_c{c}_{n}.json")) for n in ("gateway", "defaults", "direct")}
warn, defaults, direct = (r[n]["rps"] for n in ("gateway", "defaults", "direct"))
print(f"== c={c}: defaults/warn {defaults / warn:.2f}x ({defaults:.0f} vs {warn:.0f} req/s; "
      f"direct {direct:.0f}, warn/direct {warn / direct:.2f}x)", file=sys.stderr)
for p in ("p50", "p99"):
    added = lambda n: (r[n]["latency"][f"{p}_us"] - r["direct"]["latency"][f"{p}_us"]) / 1000
    print(f"== c={c}: added latency {p}: {added('defaults'):+.3f} ms at the defaults, "
          f"{added('gateway'):+.3f} ms at warn", file=sys.stderr)
PY
}

# ---- request bodies -----------------------------------------------------------------------
PROMPT="Summarise the benefits of connection pooling for an HTTP gateway in three sentences."
printf '{"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"%s"}]}' \
    "$MODEL" "$PROMPT" > "$WORK/chat.json"
printf '{"model":"%s","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"%s"}]}' \
    "$MODEL" "$PROMPT" > "$WORK/chat_stream.json"
"$CLIENT" envelope --chat "$WORK/chat.json" --project bench-p1 > "$WORK/envelope.json"

# ---- throughput, latency, streaming ------------------------------------------------------
log "fake Google: $CHUNKS chunks, ${CHUNK_INTERVAL_MS} ms apart, stamped"
start_fake fake --chunks "$CHUNKS" --interval-ms "$CHUNK_INTERVAL_MS" --stamp
# The shipped logging defaults: LOG_LEVEL=info, every request's access line to stderr and the file.
write_credentials "$WORK/creds-defaults" 4
mkdir -p "$WORK/defaults-log"
start_gateway gateway-defaults "$WORK/creds-defaults" LOG_LEVEL=info LOG_FILE="$WORK/defaults-log/log.txt"
DEFAULTS_URL=$GATEWAY_URL
DEFAULTS_PID=$GATEWAY_PID
write_credentials "$WORK/creds-main" 4
start_gateway gateway "$WORK/creds-main"
log "gateway on $GATEWAY_URL (LOG_LEVEL=warn), at the logging defaults on $DEFAULTS_URL (4 credentials each), fake on $FAKE_URL"

# Gateway and direct figures are taken in alternating rounds (load) or alternating streams, so a
# change in the machine's speed during the run falls on both alike.
PAIR=(--gateway-url "$GATEWAY_URL/v1/chat/completions"
      --gateway-header "Authorization: Bearer $PASSWORD"
      --direct-header "Authorization: Bearer at-bench-1-1")

for c in 1 32; do
    log "non-stream, concurrency $c: gateway at warn, at the defaults, and direct, alternating"
    "$CLIENT" compare-load "${PAIR[@]}" --targets gateway,defaults,direct \
        --gateway-body "$WORK/chat.json" \
        --defaults-url "$DEFAULTS_URL/v1/chat/completions" --defaults-body "$WORK/chat.json" \
        --defaults-header "Authorization: Bearer $PASSWORD" \
        --direct-url "$FAKE_URL/v1internal:generateContent" --direct-body "$WORK/envelope.json" \
        --concurrency "$c" --seconds "$LOAD_SECONDS" --rounds "$LOAD_ROUNDS" \
        --out-gateway "$RESULTS/nonstream_c${c}_gateway.json" \
        --out-defaults "$RESULTS/nonstream_c${c}_defaults.json" \
        --out-direct "$RESULTS/nonstream_c${c}_direct.json" > /dev/null
    load_ratios "$c"
done
stop "$DEFAULTS_PID"
if [ "$ONLY_LOAD" = 1 ]; then
    exit 0
fi

log "streams of $CHUNKS chunks: gateway and direct, alternating"
"$CLIENT" compare-stream "${PAIR[@]}" \
    --gateway-body "$WORK/chat_stream.json" \
    --direct-url "$FAKE_URL/v1internal:streamGenerateContent?alt=sse" --direct-body "$WORK/envelope.json" \
    --count "$STREAMS" --expect-chunks "$CHUNKS" \
    --out-gateway "$RESULTS/stream_gateway.json" --out-direct "$RESULTS/stream_direct.json" > /dev/null
stop "$GATEWAY_PID"
stop "$FAKE_PID"

# ---- memory -------------------------------------------------------------------------------
log "memory: 1 credential idle, then $HOLD_STREAMS open streams"
# Slow streams (one chunk a second) stay open while the peak is sampled.
start_fake slow-fake --chunks 60 --interval-ms 1000
write_credentials "$WORK/creds-one" 1
start_gateway gateway-one "$WORK/creds-one"
sleep 2
rss_of "$GATEWAY_PID" idle_1
GATEWAY=(--url "$GATEWAY_URL/v1/chat/completions" --header "Authorization: Bearer $PASSWORD")
"$CLIENT" hold "${GATEWAY[@]}" \
    --body "$WORK/chat_stream.json" --count "$HOLD_STREAMS" --pid "$GATEWAY_PID" \
    --open-timeout 40 --out "$RESULTS/hold_$HOLD_STREAMS.json" > /dev/null
stop "$GATEWAY_PID"
stop "$FAKE_PID"

log "memory: 10,000 credentials idle"
start_fake idle-fake
write_credentials "$WORK/creds-many" 10000
start_gateway gateway-many "$WORK/creds-many"
sleep 3
rss_of "$GATEWAY_PID" idle_10000
stop "$GATEWAY_PID"
stop "$FAKE_PID"

# ---- keyed traffic ------------------------------------------------------------------------
# Password versus `sk-` keys on files, Redis and PostgreSQL (BENCH_KEYS_BACKENDS limits them).
log "keyed traffic: scripts/bench-keys.sh"
BENCH_KEYS_OUT=$WORK/keys.md scripts/bench-keys.sh

# ---- report -------------------------------------------------------------------------------
{
    echo "placement: client, fake Google and gateway run on the same $(nproc)-core machine and share its cores; nothing is pinned, so the direct figures also run with the gateway idle beside them"
    echo "gateway: release build, file storage, LOG_LEVEL=warn, no log file, default WORKERS; 4 credentials with valid tokens for the speed figures"
    echo "logging defaults: the same binary and setup at LOG_LEVEL=info with LOG_FILE=log.txt in a temporary directory (LOG_FILE_MAX_MB 100), its stderr to a file; non-stream figures only, in the same rounds as the gateway and direct"
    echo "fake Google: the fake of examples/fake_google_server run by examples/dev_stack, no request log, answers at once; streams of $CHUNKS chunks ${CHUNK_INTERVAL_MS} ms apart, each stamped with its send time"
    echo "request: OpenAI chat (system + user message) for model $MODEL; direct sends the Code Assist envelope the gateway builds for it"
    echo "load: closed loop, $LOAD_SECONDS s measured per figure after 1 s warm-up, in $LOAD_ROUNDS rounds alternating gateway, logging defaults and direct; streams: $STREAMS sequential streams per target after 3 warm-up ones, alternating gateway and direct"
    echo "memory: RSS from /proc/<pid>/status (VmRSS idle, VmHWM under load), in MiB; idle figures taken 2–3 s after the port opened; open streams are one chunk a second from the fake"
} > "$RESULTS/setup.txt"

mkdir -p "$(dirname "$OUT")"
"$CLIENT" report --results "$RESULTS" --markdown "$OUT" --notes "$ROOT/docs/benchmark-notes.md" > /dev/null
{ echo; cat "$WORK/keys.md"; } >> "$OUT"
log "written to $OUT"

if [ "${BENCH_SKIP_GROWTH:-}" != 1 ]; then
    BENCH_SKIP_BUILD=1 BENCH_GROWTH_OUT=$OUT scripts/bench-growth.sh
fi
