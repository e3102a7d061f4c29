# Bash side of the one launcher (examples/dev_stack.rs), sourced by scripts/agent-tests.sh and
# scripts/bench-common.sh:
#
#     source scripts/dev-stack.sh
#     dev_stack_start OUT COMMAND...
#
# Runs COMMAND (a built dev_stack with its options, possibly behind `env`, which execs it) in the
# background with `--until-signal` added (a background job's stdin is closed), its JSON line in OUT.json and its errors in OUT.err; waits for the line and sets
# STACK_PID (the launcher: SIGTERM stops what it started), STACK_GATEWAY and STACK_GOOGLE (URLs;
# STACK_GATEWAY empty with --no-gateway), STACK_GATEWAY_PID (the gateway's pid, or the launcher's
# with --no-gateway) and STACK_READY_MS (from the gateway's exec until its readiness probe first
# answered 2xx; empty with --no-gateway). Exits the script when the launcher fails.

dev_stack_field() {
    sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p" "$2" | head -n1
}

dev_stack_start() {
    local out=$1
    shift
    "$@" --until-signal > "$out.json" 2> "$out.err" &
    STACK_PID=$!
    # The launcher gives up by itself (--timeout-secs, 60 s by default) and exits then.
    while [ ! -s "$out.json" ]; do
        if ! kill -0 "$STACK_PID" 2>/dev/null; then
            wait "$STACK_PID" 2>/dev/null || true
            # The line may have landed just before the exit.
            [ -s "$out.json" ] && break
            echo "the dev stack did not start:" >&2
            cat "$out.err" >&2
            exit 1
        fi
        sleep 0.05
    done
    # The line is written in one go; wait for its end in case the read raced the write.
    until grep -q '}' "$out.json"; do sleep 0.01; done
    STACK_GATEWAY=$(dev_stack_field gateway "$out.json")
    [ "$STACK_GATEWAY" = null ] && STACK_GATEWAY=""
    STACK_GOOGLE=$(dev_stack_field google "$out.json")
    STACK_GATEWAY_PID=$(dev_stack_field pid "$out.json")
    STACK_READY_MS=$(dev_stack_field ready_ms "$out.json")
    [ "$STACK_READY_MS" = null ] && STACK_READY_MS=""
    return 0
}
