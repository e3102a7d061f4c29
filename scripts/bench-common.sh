# Helpers the benchmark scripts share (bench.sh, bench-bodies.sh, bench-keys.sh, bench-growth.sh):
# sourced, not run, from the repository root after `set -euo pipefail` and `cd`:
#
#     source scripts/bench-common.sh
#     bench_init gcli2api-something.XXXXXX
#
# What differs between the scripts is passed in: names, directories, counts, extra environment, and
# an optional `on_cleanup` function the caller defines for data of its own outside WORK.

ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
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

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# build_release TARGET_ARGS...: the release binaries the script runs, e.g. `--bin gcli2api`.
build_release() {
    log "building release binaries"
    cargo build --release --quiet "$@"
}

# start_fake NAME [ARGS...]: starts the fake Google (output in WORK/NAME.out), sets FAKE_URL and
# FAKE_PID.
start_fake() {
    local name=$1
    shift
    # The credential files the scripts write carry made-up tokens, so start-up refreshes nothing.
    "$BIN/examples/fake_google_server" --port 0 --no-record --accept-unissued-tokens "$@" \
        > "$WORK/$name.out" 2>&1 &
    FAKE_PID=$!
    STARTED_PIDS+=("$FAKE_PID")
    FAKE_URL=""
    for _ in $(seq 200); do
        FAKE_URL=$(sed -n 's/^listening on //p' "$WORK/$name.out")
        [ -n "$FAKE_URL" ] && return 0
        sleep 0.05
    done
    echo "fake Google did not start:" >&2
    cat "$WORK/$name.out" >&2
    exit 1
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

# launch_gateway NAME CREDENTIAL_DIR PORT [VAR=VALUE...]: starts the release gateway in front of
# FAKE_URL (output in WORK/NAME.out, extra environment last), sets GATEWAY_PID; does not wait.
launch_gateway() {
    local name=$1 dir=$2 port=$3
    shift 3
    # The subshell execs the gateway, so GATEWAY_PID is the gateway's pid and no extra process
    # (such as `env`) adds to the time until ready that bench-growth.sh measures.
    (
        export HOST=127.0.0.1 PORT="$port" PASSWORD="$PASSWORD" CREDENTIALS_DIR="$dir" LOG_LEVEL=warn \
            LOG_FILE= CODE_ASSIST_ENDPOINT="$FAKE_URL" OAUTH_PROXY_URL="$FAKE_URL" \
            GOOGLEAPIS_PROXY_URL="$FAKE_URL" RESOURCE_MANAGER_API_URL="$FAKE_URL" \
            SERVICE_USAGE_API_URL="$FAKE_URL"
        if [ $# -gt 0 ]; then
            export "$@"
        fi
        exec "$BIN/gcli2api"
    ) > "$WORK/$name.out" 2>&1 &
    GATEWAY_PID=$!
    STARTED_PIDS+=("$GATEWAY_PID")
}

# start_gateway NAME CREDENTIAL_DIR [VAR=VALUE...]: launch_gateway on a port the system picks, then
# waits until it listens; sets GATEWAY_URL and GATEWAY_PID.
start_gateway() {
    local name=$1 dir=$2 port=""
    shift 2
    launch_gateway "$name" "$dir" 0 "$@"
    for _ in $(seq 1200); do
        port=$(ss -ltnpH 2>/dev/null | grep "pid=$GATEWAY_PID," | awk '{print $4}' | sed "s/.*://" | head -n1 || true)
        [ -n "$port" ] && break
        if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
            echo "gateway exited:" >&2
            cat "$WORK/$name.out" >&2
            exit 1
        fi
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "gateway did not start listening:" >&2
        cat "$WORK/$name.out" >&2
        exit 1
    fi
    GATEWAY_URL="http://127.0.0.1:$port"
}
