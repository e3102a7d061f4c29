#!/usr/bin/env bash
# Growth benchmark (`scripts/bench.sh growth` runs only this; `scripts/bench.sh` runs it last):
# the release gateway (file storage) in front of the in-repository fake Google with many
# credentials or many API keys. For each fleet it measures
#   - time until ready after a restart (exec until `/readyz` answers 200), the credentials being
#     read from `creds.toml` as a running gateway left them (a first start imports the loose
#     `*.json` files the way bench.sh's credentials are made, and is stopped gracefully);
#   - idle RSS (VmRSS, 3 s after ready) and peak RSS (VmHWM) of the restart;
#   - the panel's credential status page (`GET /creds/status`, first page of 50): median and worst
#     of BENCH_GROWTH_STATUS_TRIES calls;
# and c=32 throughput with 10,000 credentials against one credential, in alternating rounds (two
# gateways side by side, the same fake Google). Prints PASS/MISS per budget, writes the table and
# an SVG chart (docs/growth.svg, drawn by this script) into the "Growth" section of
# docs/benchmark.md (replacing an earlier copy; BENCH_GROWTH_OUT=- prints only).
#
# Every gateway is started by the one launcher (examples/dev_stack through bench-common.sh), which
# binds the port in the gateway itself and reports the time from the gateway's exec until `/readyz`
# first answered 200.
#
# Knobs: BENCH_GROWTH_CREDS (default "1000 10000 100000"), BENCH_GROWTH_KEYS (default
# "10000 100000"), BENCH_SECONDS (throughput seconds per target, default 10),
# BENCH_SKIP_BUILD=1, CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."
# Importing 100,000 credential files on a first start takes a while.
BENCH_START_TIMEOUT=${BENCH_START_TIMEOUT:-300}
source scripts/bench-common.sh
OUT=${BENCH_GROWTH_OUT:-$ROOT/docs/benchmark.md}
SVG=$ROOT/docs/growth.svg
NOTES=$ROOT/docs/growth-notes.md
CRED_COUNTS=${BENCH_GROWTH_CREDS:-1000 10000 100000}
KEY_COUNTS=${BENCH_GROWTH_KEYS:-10000 100000}
LOAD_SECONDS=${BENCH_SECONDS:-10}
STATUS_TRIES=${BENCH_GROWTH_STATUS_TRIES:-5}
MANY=10000
MODEL=gemini-2.5-flash

bench_init gcli2api-growth.XXXXXX
RESULTS=$WORK/results
mkdir -p "$RESULTS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    build_release --bin gcli2api --example bench_client
fi
CLIENT=$BIN/examples/bench_client

start_fake fake

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# write_keys DIR COUNT: api_keys.toml as the gateway writes it, COUNT keys with a quota.
write_keys() {
    python3 - "$1" "$2" <<'PY'
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "api_keys.toml"), "w") as f:
    f.write("# Written by gcli2api. Edit only while gcli2api is stopped: a running instance overwrites this file.\n\n")
    for i in range(1, count + 1):
        f.write(f'["sk-bench{i:032d}"]\ntotal_quota = 1000\nused_quota = 0\ncreated_at = {1700000000 + i}\n'
                'description = "growth bench"\nallowed_models = []\n\n[\"sk-bench%032d\".model_stats]\n\n' % i)
PY
}

# start_ready_gateway NAME DIR: sets GATEWAY_URL, GATEWAY_PID and READY_MS (exec until /readyz is
# 200, as the launcher measured it).
start_ready_gateway() {
    start_gateway_ready /readyz "$1" "$2"
}

# status_ms: "median worst" milliseconds of GET /creds/status (first page of 50).
status_ms() {
    local token times=()
    token=$(curl -s -X POST -H 'Content-Type: application/json' \
        -d "{\"password\":\"$PASSWORD\"}" "$GATEWAY_URL/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    for _ in $(seq "$STATUS_TRIES"); do
        times+=("$(curl -s -o "$WORK/status.json" -w '%{time_total}' -H "Authorization: Bearer $token" \
            "$GATEWAY_URL/creds/status?offset=0&limit=50")")
    done
    python3 -c 'import json, statistics, sys
items = len(json.load(open(sys.argv[1]))["items"])
t = sorted(float(x) * 1000 for x in sys.argv[2:])
print(f"{statistics.median(t):.1f} {t[-1]:.1f} {items}")' "$WORK/status.json" "${times[@]}"
}

# measure KIND COUNT DIR: restart figures of one fleet into results/KIND_COUNT.json.
measure() {
    local kind=$1 count=$2 dir=$3 import_ms idle peak status
    start_ready_gateway "import-$kind-$count" "$dir"
    import_ms=$READY_MS
    stop "$GATEWAY_PID"
    start_ready_gateway "$kind-$count" "$dir"
    sleep 3
    idle=$(kib "$GATEWAY_PID" VmRSS)
    peak=$(kib "$GATEWAY_PID" VmHWM)
    status=$(status_ms)
    printf '{"kind":"%s","count":%s,"first_start_ms":%s,"ready_ms":%s,"idle_kib":%s,"peak_kib":%s,"status_median_ms":%s,"status_worst_ms":%s,"status_items":%s}\n' \
        "$kind" "$count" "$import_ms" "$READY_MS" "$idle" "$peak" $status > "$RESULTS/${kind}_$count.json"
    log "$kind $count: ready ${READY_MS} ms, idle $((idle / 1024)) MiB, peak $((peak / 1024)) MiB, status page (median worst items) $status"
}

for n in $CRED_COUNTS; do
    log "$n credentials"
    write_credentials "$WORK/creds-$n" "$n"
    measure credentials "$n" "$WORK/creds-$n"
    if [ "$n" != "$MANY" ]; then
        stop "$GATEWAY_PID"
        rm -rf "$WORK/creds-$n"
    else
        MANY_URL=$GATEWAY_URL
        MANY_PID=$GATEWAY_PID
    fi
done

log "throughput, c=32: $MANY credentials against 1, alternating rounds"
if [ -z "${MANY_URL:-}" ]; then
    write_credentials "$WORK/creds-$MANY" "$MANY"
    start_ready_gateway "throughput-$MANY" "$WORK/creds-$MANY"
    MANY_URL=$GATEWAY_URL
    MANY_PID=$GATEWAY_PID
fi
write_credentials "$WORK/creds-one" 1
start_ready_gateway throughput-1 "$WORK/creds-one"
ONE_URL=$GATEWAY_URL
printf '{"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the benefits of connection pooling for an HTTP gateway in three sentences."}]}' \
    "$MODEL" > "$WORK/chat.json"
"$CLIENT" compare-load \
    --gateway-url "$MANY_URL/v1/chat/completions" --gateway-body "$WORK/chat.json" \
    --gateway-header "Authorization: Bearer $PASSWORD" \
    --direct-url "$ONE_URL/v1/chat/completions" --direct-body "$WORK/chat.json" \
    --direct-header "Authorization: Bearer $PASSWORD" \
    --concurrency 32 --seconds "$LOAD_SECONDS" --rounds 4 \
    --out-gateway "$RESULTS/throughput_many.json" --out-direct "$RESULTS/throughput_one.json" > /dev/null
stop "$GATEWAY_PID"
stop "$MANY_PID"

for n in $KEY_COUNTS; do
    log "$n API keys (1 credential)"
    write_credentials "$WORK/keys-$n" 1
    write_keys "$WORK/keys-$n" "$n"
    measure keys "$n" "$WORK/keys-$n"
    stop "$GATEWAY_PID"
    rm -rf "$WORK/keys-$n"
done

# ---- report: table, PASS/MISS, chart ------------------------------------------------------
python3 - "$RESULTS" "$OUT" "$SVG" "$NOTES" "$(nproc)" "$LOAD_SECONDS" <<'PY'
import glob, json, os, re, sys, datetime

results, out, svg_path, notes_path, nproc, seconds = sys.argv[1:7]
rows = [json.load(open(p)) for p in glob.glob(os.path.join(results, "*_*.json"))
        if not os.path.basename(p).startswith("throughput")]
rows.sort(key=lambda r: (r["kind"] != "credentials", r["count"]))
mib = lambda k: k / 1024

def load(name):
    try:
        return json.load(open(os.path.join(results, name)))
    except FileNotFoundError:
        return None

many, one = load("throughput_many.json"), load("throughput_one.json")
by = {(r["kind"], r["count"]): r for r in rows}
goals = []
def goal(name, budget, measured, ok):
    goals.append((name, budget, measured, "PASS" if ok else "MISS"))

if ("credentials", 10000) in by:
    r = by[("credentials", 10000)]
    goal("Idle RSS, 10,000 credentials", "≤ 40 MiB", f"{mib(r['idle_kib']):.1f} MiB", mib(r["idle_kib"]) <= 40)
if ("credentials", 100000) in by:
    r = by[("credentials", 100000)]
    goal("Idle RSS, 100,000 credentials", "≤ 300 MiB", f"{mib(r['idle_kib']):.1f} MiB", mib(r["idle_kib"]) <= 300)
    goal("Peak RSS, 100,000 credentials", "≤ 400 MiB", f"{mib(r['peak_kib']):.1f} MiB", mib(r["peak_kib"]) <= 400)
    goal("Ready after a restart, 100,000 credentials", "≤ 5 s", f"{r['ready_ms'] / 1000:.2f} s", r["ready_ms"] <= 5000)
    goal("Status page, 100,000 credentials", "≤ 200 ms", f"{r['status_median_ms']:.0f} ms median, {r['status_worst_ms']:.0f} ms worst", r["status_worst_ms"] <= 200)
if many and one:
    ratio = many["rps"] / one["rps"]
    goal("Throughput c=32, 10,000 vs 1 credential", "≥ 0.9×", f"{many['rps']:.0f} vs {one['rps']:.0f} req/s, {ratio:.2f}×", ratio >= 0.9)

def label(r):
    return f"{r['count']:,} {'credentials' if r['kind'] == 'credentials' else 'API keys (1 credential)'}"

lines = ["", "## Growth", "",
         f"`scripts/bench.sh growth` (scripts/bench-growth.sh) — release build, file storage, LOG_LEVEL=warn, "
         f"fake Google on the same {nproc}-core machine. Each fleet is started once to import the credential "
         "files (or to read `api_keys.toml`), stopped gracefully, and restarted; the figures are the restart's. "
         "Ready: exec until `/readyz` answers 200. Idle RSS: VmRSS 3 s after ready; peak: VmHWM then. "
         "Status page: `GET /creds/status?offset=0&limit=50` as the panel calls it, median and worst of five. "
         f"Throughput: c=32 non-stream chat, {seconds} s per target in 4 alternating rounds, a gateway with "
         "10,000 credentials against one with 1. Measured " + datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + ".",
         "", "| Fleet | First start (import) | Ready after restart | Idle RSS | Peak RSS | Status page (median / worst) |",
         "|---|---:|---:|---:|---:|---:|"]
for r in rows:
    lines.append(f"| {label(r)} | {r['first_start_ms'] / 1000:.2f} s | {r['ready_ms'] / 1000:.2f} s | "
                 f"{mib(r['idle_kib']):.1f} MiB | {mib(r['peak_kib']):.1f} MiB | "
                 f"{r['status_median_ms']:.0f} / {r['status_worst_ms']:.0f} ms |")
if many and one:
    lines += ["", "| Throughput, c=32 | requests/s | p50 | p99 |", "|---|---:|---:|---:|"]
    for name, t in (("1 credential", one), ("10,000 credentials", many)):
        lat = t["latency"]
        lines.append(f"| {name} | {t['rps']:.0f} | {lat.get('p50_us', 0) / 1000:.3f} ms | {lat.get('p99_us', 0) / 1000:.3f} ms |")
lines += ["", "| Goal | Budget | Measured | Result |", "|---|---|---|---|"]
lines += [f"| {g[0]} | {g[1]} | {g[2]} | {g[3]} |" for g in goals]
lines += ["", "![Idle RSS and time until ready by fleet size](growth.svg)", ""]
if os.path.exists(notes_path):
    lines.append(open(notes_path).read().rstrip("\n"))
section = "\n".join(lines) + "\n"

# ---- the chart: idle and peak RSS (bars, left) and time until ready (bars, right) per fleet ----
W, H, left, top, bottom = 760, 360, 60, 40, 90
panel_w = (W - left - 40) / 2 - 20
plot_h = H - top - bottom
def bars(x0, values, colors, vmax, unit, title):
    out = [f'<text x="{x0 + panel_w / 2:.0f}" y="24" text-anchor="middle" font-size="14" font-weight="bold">{title}</text>',
           f'<line x1="{x0}" y1="{top + plot_h}" x2="{x0 + panel_w:.0f}" y2="{top + plot_h}" stroke="#333"/>']
    for i in range(5):
        v = vmax * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{x0}" y1="{y:.0f}" x2="{x0 + panel_w:.0f}" y2="{y:.0f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.0f}" text-anchor="end" font-size="11">{v:.0f}{unit}</text>')
    group = panel_w / max(len(values), 1)
    width = group * 0.7 / max(len(colors), 1)
    for g, (name, vals) in enumerate(values):
        gx = x0 + g * group + group * 0.15
        for k, v in enumerate(vals):
            h = plot_h * min(v / vmax, 1) if vmax else 0
            x = gx + k * width
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{colors[k]}"/>')
            out.append(f'<text x="{x + width / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" font-size="9">{v:.0f}</text>')
        out.append(f'<text x="{gx + group * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{name}</text>')
    return out

def short(r):
    n = r["count"]
    return (f"{n // 1000}k" if n >= 1000 else str(n)) + (" creds" if r["kind"] == "credentials" else " keys")

mem = [(short(r), [mib(r["idle_kib"]), mib(r["peak_kib"])]) for r in rows]
ready = [(short(r), [r["ready_ms"], r["status_median_ms"]]) for r in rows]
mem_max = max([v for _, vs in mem for v in vs] + [400]) * 1.1
ready_max = max([v for _, vs in ready for v in vs] + [5000]) * 1.1
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
parts += bars(left, mem, ["#4a90d9", "#a4c8ef"], mem_max, "", "Memory (MiB)")
x2 = left + panel_w + 80
parts += bars(x2, ready, ["#d9824a", "#efc6a4"], ready_max, "", "Time (ms)")
# budgets as dashed lines: 300 / 400 MiB, 5000 / 200 ms
for x0, vmax, value, text in ((left, mem_max, 300, "300 MiB idle budget (100k)"), (left, mem_max, 40, "40 MiB (10k)"),
                              (x2, ready_max, 5000, "5 s ready budget")):
    y = top + plot_h - plot_h * value / vmax
    parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w:.0f}" y2="{y:.1f}" stroke="#c00" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x0 + panel_w:.0f}" y="{y - 3:.1f}" text-anchor="end" font-size="9" fill="#c00">{text}</text>')
legend = [("#4a90d9", "idle RSS"), ("#a4c8ef", "peak RSS (VmHWM)"), ("#d9824a", "ready after restart"), ("#efc6a4", "status page (median)")]
for i, (color, text) in enumerate(legend):
    x = left + i * 170
    parts.append(f'<rect x="{x}" y="{H - 30}" width="12" height="12" fill="{color}"/>')
    parts.append(f'<text x="{x + 18}" y="{H - 20}" font-size="12">{text}</text>')
parts.append("</svg>")

print(section)
if out != "-":
    open(svg_path, "w").write("\n".join(parts) + "\n")
    try:
        text = open(out).read()
    except FileNotFoundError:
        text = "# Benchmark\n"
    text = re.sub(r"\n## Growth\n.*?(?=\n## |\Z)", "", text, flags=re.S)
    open(out, "w").write(text.rstrip("\n") + "\n" + section)
PY
[ "$OUT" = "-" ] || log "written to $OUT and $SVG"
