# Helpers the benchmark scripts share (bench.sh, bench-bodies.sh, bench-keys.sh, bench-hostile.sh,
# bench-growth.sh, bench-cpu.sh):
# sourced, not run, from the repository root after `set -euo pipefail` and `cd`:
#
#     source scripts/bench-common.sh
#     bench_init gcli2api-something.XXXXXX
#
# What differs between the scripts is passed in: names, directories, counts, extra environment, and
# an optional `on_cleanup` function the caller defines for data of its own outside WORK.

ROOT=$PWD
# shellcheck source=scripts/dev-stack.sh
source "$ROOT/scripts/dev-stack.sh"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# BENCH_BIN: another folder of built binaries (e.g. target/debug, to check a script quickly).
BIN=${BENCH_BIN:-$TARGET_DIR/release}
# BENCH_GATEWAY_BIN: another gateway binary, started by the same launcher (a build to compare).
GATEWAY_BIN=${BENCH_GATEWAY_BIN:-$BIN/gcli2api}
# Seconds a gateway may take until ready (BENCH_START_TIMEOUT: large fleets take longer).
START_TIMEOUT=${BENCH_START_TIMEOUT:-120}
PASSWORD=bench-password

# bench_init TEMPLATE: a scratch directory WORK (mktemp TEMPLATE), removed on exit together with
# every process started through the helpers below.
bench_init() {
    WORK=$(mktemp -d -t "$1")
    STARTED_PIDS=()
    trap cleanup EXIT
}

cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if declare -F on_cleanup > /dev/null; then
        on_cleanup
    fi
    rm -rf "$WORK"
}

log() { printf '== %s\n' "$*" >&2; }

# stop PID: SIGTERM, then waits until the process is gone (a gateway started through the launcher is
# not a child of this shell, so `wait` alone would return at once).
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for _ in $(seq 600); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
}

# build_release TARGET_ARGS...: the release binaries the script runs, e.g. `--bin gcli2api`; the
# launcher (`--example dev_stack`) is always built.
build_release() {
    # BENCH_SKIP_BUILD=1: the binaries under BIN are already built.
    [ "${BENCH_SKIP_BUILD:-}" = 1 ] && return 0
    log "building release binaries"
    cargo build --release --quiet --example dev_stack "$@"
}

# start_fake NAME [ARGS...]: starts the fake Google alone through the launcher (its line in
# WORK/NAME.json, errors in WORK/NAME.err), sets FAKE_URL and FAKE_PID (the launcher, which holds the
# fake).
start_fake() {
    local name=$1
    shift
    # The credential files the scripts write carry made-up tokens, so start-up refreshes nothing.
    dev_stack_start "$WORK/$name" "$BIN/examples/dev_stack" --no-gateway --no-record \
        --accept-unissued-tokens "$@"
    FAKE_URL=$STACK_GOOGLE
    FAKE_PID=$STACK_PID
    STARTED_PIDS+=("$FAKE_PID")
}

# write_credentials DIR COUNT: credential files bench-1.json … with a valid token and a project, so
# start-up refreshes and discovers nothing; written by python because a shell loop takes minutes
# for 100,000.
write_credentials() {
    python3 - "$1" "$2" <<'PY'
import datetime, os, sys
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
for i in range(1, count + 1):
    with open(os.path.join(folder, f"bench-{i}.json"), "w") as f:
        f.write('{"client_id":"bench.apps.googleusercontent.com","client_secret":"bench-secret",'
                f'"refresh_token":"rt-bench-{i}","project_id":"bench-p{i}","token":"at-bench-{i}-1",'
                f'"expiry":"{expiry}"}}\n')
PY
}

# start_gateway NAME CREDENTIAL_DIR [VAR=VALUE...]: the release gateway in front of FAKE_URL through
# the launcher, on a port the gateway binds itself (working directory and output in WORK/NAME, extra
# environment last); returns once it answers, sets GATEWAY_URL and GATEWAY_PID (the gateway's own pid).
start_gateway() {
    start_gateway_ready /healthz "$@"
}

# start_gateway_ready READY_PATH NAME CREDENTIAL_DIR [VAR=VALUE...]: start_gateway, returning once
# READY_PATH answers 2xx; also sets READY_MS, the launcher's time from the gateway's exec until then.
start_gateway_ready() {
    local ready_path=$1 name=$2 dir=$3 pair
    shift 3
    local env_args=(--env PASSWORD="$PASSWORD" --env CREDENTIALS_DIR="$dir" --env LOG_LEVEL=warn
        --env LOG_FILE=)
    for pair in "$@"; do
        env_args+=(--env "$pair")
    done
    dev_stack_start "$WORK/$name" "$BIN/examples/dev_stack" --gateway-bin "$GATEWAY_BIN" \
        --google "$FAKE_URL" --dir "$WORK/$name" --ready-path "$ready_path" \
        --timeout-secs "$START_TIMEOUT" "${env_args[@]}"
    STARTED_PIDS+=("$STACK_PID")
    GATEWAY_URL=$STACK_GATEWAY
    GATEWAY_PID=$STACK_GATEWAY_PID
    READY_MS=$STACK_READY_MS
}
