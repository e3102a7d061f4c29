#!/usr/bin/env bash
# Memory budget of request bodies (`scripts/bench.sh bodies` runs this): against the release binary
# and the in-repository fake Google, fires at once
#   - 64 concurrent authenticated posts of a 20 MB chat request (just under MAX_REQUEST_BODY_MB), and
#   - 64 concurrent unauthenticated posts of 60 MB,
# then reports the gateway's peak RSS (VmHWM) and its RSS 10 s after the burst, with the answers by
# status. Budget: peak <= 300 MiB, <= 40 MiB ten seconds later. Appends the figures to
# docs/benchmark.md (BENCH_BODIES_OUT) unless BENCH_BODIES_OUT=-.
#
# Only memory is measured here: timing on a shared machine says little.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-common.sh
OUT=${BENCH_BODIES_OUT:-$ROOT/docs/benchmark.md}
CONCURRENCY=${BENCH_BODIES_CONCURRENCY:-64}
AUTH_MB=20
ANON_MB=60
PEAK_BUDGET_MIB=300
AFTER_BUDGET_MIB=40

bench_init gcli2api-bodies.XXXXXX

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    build_release --bin gcli2api
fi

start_fake fake
write_credentials "$WORK/creds" 1
start_gateway gateway "$WORK/creds"
URL="$GATEWAY_URL/v1/chat/completions"

# A valid chat request of exactly AUTH_MB MB (a long user message), and 60 MB of anything.
python3 - "$WORK/auth.json" "$AUTH_MB" <<'PY'
import json, sys
path, mb = sys.argv[1], int(sys.argv[2])
shell = json.dumps({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": ""}]})
filler = mb * 1000 * 1000 - len(shell)
body = json.dumps({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x" * filler}]})
open(path, "w").write(body)
PY
head -c $((ANON_MB * 1000 * 1000)) /dev/zero | tr '\0' 'a' > "$WORK/anon.bin"

rss_kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
sleep 1
IDLE=$(rss_kib "$GATEWAY_PID" VmRSS)

log "burst: $CONCURRENCY x ${AUTH_MB} MB authenticated + $CONCURRENCY x ${ANON_MB} MB unauthenticated"
# -T streams the file (--data-binary would hold all of it in every curl process).
post() {
    # $1: body file, $2: extra header (or a harmless one)
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 120 -X POST -T "$1" \
        -H 'Content-Type: application/json' -H 'Expect:' -H "$2" "$URL" || true
}
POSTS=()
for _ in $(seq "$CONCURRENCY"); do
    post "$WORK/auth.json" "Authorization: Bearer $PASSWORD" >> "$WORK/auth.codes" &
    POSTS+=($!)
    post "$WORK/anon.bin" "X-Bench: anonymous" >> "$WORK/anon.codes" &
    POSTS+=($!)
done
for pid in "${POSTS[@]}"; do
    wait "$pid" 2>/dev/null || true
done
PEAK=$(rss_kib "$GATEWAY_PID" VmHWM)
AFTER_BURST=$(rss_kib "$GATEWAY_PID" VmRSS)
sleep 10
AFTER=$(rss_kib "$GATEWAY_PID" VmRSS)

summary() { sort "$1" | uniq -c | awk '{printf "%s%s x %s", sep, $1, $2; sep=", "} END {print ""}'; }
AUTH_CODES=$(summary "$WORK/auth.codes")
ANON_CODES=$(summary "$WORK/anon.codes")
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
verdict() { [ "$(mib "$1")" -le "$2" ] && echo PASS || echo MISS; }

REPORT=$(cat <<EOF

## Request bodies: memory budget

\`scripts/bench.sh bodies\` — release build, defaults (MAX_REQUEST_BODY_MB=20, MAX_INFLIGHT_BODY_MB=48,
CLIENT_BODY_TIMEOUT=30), one credential, fake Google on the same machine. $CONCURRENCY concurrent
authenticated posts of a ${AUTH_MB} MB chat request and $CONCURRENCY concurrent unauthenticated posts of
${ANON_MB} MB, all started at once. RSS from /proc/<pid>/status. Measured $(date -u '+%Y-%m-%d').

| figure | MiB | goal | |
| --- | ---: | ---: | --- |
| idle before the burst | $(mib "$IDLE") | | |
| peak during the burst (VmHWM) | $(mib "$PEAK") | ≤ $PEAK_BUDGET_MIB | $(verdict "$PEAK" "$PEAK_BUDGET_MIB") |
| right after the burst | $(mib "$AFTER_BURST") | | |
| 10 s after the burst | $(mib "$AFTER") | ≤ $AFTER_BUDGET_MIB | $(verdict "$AFTER" "$AFTER_BUDGET_MIB") |

Answers: authenticated $AUTH_CODES; unauthenticated $ANON_CODES (000 = the client saw the
connection closed while still sending, after its 401).
EOF
)
echo "$REPORT"
if [ "$OUT" != "-" ]; then
    # Replace an earlier copy of this section, keep the rest of the file.
    python3 - "$OUT" "$REPORT" <<'PY'
import sys, re
path, section = sys.argv[1], sys.argv[2]
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmark\n"
text = re.sub(r"\n## Request bodies: memory budget\n.*?(?=\n## |\Z)", "", text, flags=re.S)
open(path, "w").write(text.rstrip("\n") + "\n" + section + "\n")
PY
    log "written to $OUT"
fi
