#!/usr/bin/env bash
# Drives real agent command-line clients, headless, against the gateway binary and the fake Google
# example server: each must answer a prompt and complete one tool call end to end. The clients are
# pinned in tests/agents/package.json and installed here (npm ci) when missing.
#
# Tests: codex_* (OpenAI Codex CLI over /v1/responses: over HTTPS, over the Responses WebSocket with
# `supports_websockets = true`, and a run long enough to compact remotely), claude_* (Claude Code over
# /v1/messages). Add a client as functions named after it and one `run_test` line each at the bottom.
#
# KEEP_AGENT_WORK=1 keeps the work folder (logs, client output) for a look after a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
AGENTS="$ROOT/tests/agents"
PASSWORD="agent-test-password"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

# Loopback traffic must never go through a proxy configured for the machine.
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

ensure_node() {
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "installing node and npm"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
}

install_clients() {
  if [ ! -d "$AGENTS/node_modules" ] \
    || [ "$AGENTS/package-lock.json" -nt "$AGENTS/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$AGENTS" --no-audit --no-fund --loglevel=error
  fi
}

ensure_node
install_clients
cargo build --bin gcli2api --example dev_stack
# shellcheck source=scripts/dev-stack.sh
source "$ROOT/scripts/dev-stack.sh"

# Under target/ rather than /tmp: Codex refuses to set up its helpers below a temporary folder.
mkdir -p "$ROOT/target"
WORK=$(mktemp -d "$ROOT/target/agent-tests.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_AGENT_WORK:-}" = "1" ]; then
    echo "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Waits (bounded) until a command succeeds.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for $what" >&2
  return 1
}

# The fake Google (with its control API) and the gateway in front of it, through the one launcher;
# sets FAKE and GATEWAY. The gateway's output is in $WORK/gateway/gateway.out.
start_stack() {
  mkdir -p "$WORK/gateway/creds"
  cat >"$WORK/gateway/creds/agent.json" <<'EOF'
{"client_id": "test-client.apps.googleusercontent.com", "client_secret": "test-secret",
 "refresh_token": "rt-agent", "project_id": "agent-project",
 "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
 "token_uri": "https://oauth2.googleapis.com/token"}
EOF
  # env -i: nothing of the calling shell (storage URLs, credentials) reaches the gateway.
  dev_stack_start "$WORK/stack" env -i PATH="$PATH" HOME="$HOME" WORKERS=2 PASSWORD="$PASSWORD" \
    LOG_FILE="$WORK/gateway/log.txt" LOG_LEVEL=info RETRY_429_INTERVAL=0 \
    "$BIN/examples/dev_stack" --control --dir "$WORK/gateway" --timeout-secs 30 \
    --env 'OAUTH_AUTH_URL={google}/o/oauth2/auth'
  PIDS+=("$STACK_PID")
  GATEWAY=$STACK_GATEWAY
  FAKE=$STACK_GOOGLE
  wait_for "the gateway to serve" curl -sf -H "Authorization: Bearer $PASSWORD" "$GATEWAY/v1/models"
}

# POST to the fake's control API.
fake_control() {
  curl -sf -X POST "$FAKE/__fake/$1" -H 'content-type: application/json' -d "$2" >/dev/null
}

# ---- Codex CLI (wire_api = "responses") ------------------------------------------------------------

codex_setup() {
  # Options: CODEX_WEBSOCKETS=true (the Responses WebSocket), CODEX_PROVIDER_NAME (Codex compacts
  # remotely only for providers named "openai" or "azure"), CODEX_COMPACT_LIMIT (auto-compaction).
  CODEX_HOME_DIR="$WORK/codex-home"
  CODEX_PROJECT="$WORK/codex-project"
  rm -rf "$CODEX_HOME_DIR"
  mkdir -p "$CODEX_HOME_DIR" "$CODEX_PROJECT"
  local compact=""
  if [ -n "${CODEX_COMPACT_LIMIT:-}" ]; then
    compact="model_auto_compact_token_limit = $CODEX_COMPACT_LIMIT"
  fi
  # The provider block of the README's Codex quick start (plus what keeps a test run on loopback).
  cat >"$CODEX_HOME_DIR/config.toml" <<EOF
model = "gemini-2.5-pro"
model_provider = "gcli2api"
# Loopback only: no update check, no usage analytics.
check_for_update_on_startup = false
$compact

[analytics]
enabled = false

[model_providers.gcli2api]
name = "${CODEX_PROVIDER_NAME:-gcli2api}"
base_url = "$GATEWAY/v1"
wire_api = "responses"
env_key = "GCLI2API_API_KEY"
supports_websockets = ${CODEX_WEBSOCKETS:-false}
request_max_retries = 0
stream_max_retries = 0
EOF
}

# How many turns reached the gateway each way so far: "<https> <websocket>" (from its access lines).
turn_counts() {
  local https ws
  https=$(grep -c ' POST /v1/responses ' "$WORK/gateway/log.txt" || true)
  ws=$(grep -c ' WS /v1/responses ' "$WORK/gateway/log.txt" || true)
  echo "$https $ws"
}

# Checks the turns since `before` (a `turn_counts` result): $2 = https|websocket, the only way used.
check_transport() {
  local before=$1 expected=$2
  local b_https b_ws a_https a_ws
  read -r b_https b_ws <<<"$before"
  read -r a_https a_ws <<<"$(turn_counts)"
  local https=$((a_https - b_https)) ws=$((a_ws - b_ws))
  echo "   turns: $https over HTTPS, $ws over the WebSocket"
  if [ "$expected" = websocket ] && { [ "$ws" -lt 2 ] || [ "$https" -ne 0 ]; }; then
    echo "expected every turn over the WebSocket" >&2
    return 1
  fi
  if [ "$expected" = https ] && { [ "$https" -lt 1 ] || [ "$ws" -ne 0 ]; }; then
    echo "expected every turn over HTTPS" >&2
    return 1
  fi
}

# codex exec, headless, JSON events on stdout; no sandbox (the container is the sandbox).
run_codex() {
  local name=$1 prompt=$2
  shift 2
  # Extra arguments go before the prompt (`resume --last` continues the previous session).
  (
    cd "$CODEX_PROJECT"
    CODEX_HOME="$CODEX_HOME_DIR" GCLI2API_API_KEY="$PASSWORD" timeout 180 \
      "$AGENTS/node_modules/.bin/codex" exec --strict-config --skip-git-repo-check \
      --dangerously-bypass-approvals-and-sandbox --json "$@" "$prompt" </dev/null
  ) >"$WORK/$name.jsonl" 2>"$WORK/$name.err"
}

# Checks the JSON events of a codex run with a small node script given the events as `items`.
check_codex() {
  local name=$1 script=$2
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(l => l.startsWith("{"));
    const events = lines.map(l => JSON.parse(l));
    const items = events.filter(e => e.type === "item.completed").map(e => e.item);
    const fail = (why) => { console.error(why); console.error(lines.join("\n")); process.exit(1); };
    if (!events.some(e => e.type === "turn.completed")) fail("the turn did not complete");
    '"$script" "$WORK/$name.jsonl"
}

codex_answers_a_prompt() {
  codex_setup
  fake_control tool-scripts '{"scripts": []}'
  local before
  before=$(turn_counts)
  run_codex codex-prompt "Say hello."
  check_codex codex-prompt '
    const answer = items.find(i => i.type === "agent_message");
    if (!answer || !answer.text.includes("from the fake")) fail("no answer from the fake");'
  check_transport "$before" https
}

codex_runs_a_shell_command() {
  codex_setup
  codex_shell_run codex-shell
}

# One prompt that makes Codex run `echo <marker>` and quote its output; the run is named $1, further
# arguments go to `codex exec`. CODEX_TRANSPORT: the only way its turns may take (default https).
codex_shell_run() {
  local name=$1
  shift
  local marker="codex-shell-ok-$RANDOM$RANDOM"
  # The fake answers with a thought and an exec_command call, then quotes the command's output; it
  # refuses a replay whose thought signature was lost.
  fake_control tool-scripts "{\"scripts\": [{\"function\": \"exec_command\", \"args\": {\"cmd\": \"echo $marker\"}}]}"
  local before
  before=$(turn_counts)
  run_codex "$name" "Run a shell command that prints a marker." "$@"
  MARKER=$marker check_codex "$name" '
    const marker = process.env.MARKER;
    const command = items.find(i => i.type === "command_execution");
    if (!command || command.exit_code !== 0 || !command.aggregated_output.includes(marker))
      fail("the shell command did not run");
    const reasoning = items.find(i => i.type === "reasoning");
    if (!reasoning || !reasoning.text.includes("I will call exec_command."))
      fail("the reasoning summary did not arrive");
    const answer = items.find(i => i.type === "agent_message");
    if (!answer || !answer.text.startsWith("The exec_command tool returned:") || !answer.text.includes(marker))
      fail("the answer does not quote the command output");'
  fake_control tool-scripts '{"scripts": []}'
  check_transport "$before" "${CODEX_TRANSPORT:-https}"
}

# supports_websockets = true: a prompt, then a shell command, every turn over the WebSocket (the
# gateway's access lines say `WS /v1/responses`; an HTTPS fallback would say `POST`).
codex_over_the_websocket() {
  CODEX_WEBSOCKETS=true codex_setup
  fake_control tool-scripts '{"scripts": []}'
  local before
  before=$(turn_counts)
  run_codex codex-ws-prompt "Say hello."
  check_codex codex-ws-prompt '
    const answer = items.find(i => i.type === "agent_message");
    if (!answer || !answer.text.includes("from the fake")) fail("no answer from the fake");'
  check_transport "$before" websocket
  CODEX_TRANSPORT=websocket codex_shell_run codex-ws-shell
  curl -sf -H "Authorization: Bearer $PASSWORD" "$GATEWAY/metrics" | grep '^gcli2api_responses_ws_events_total' | sed 's/^/   /'
}

# A session long enough to compact: the first run's prompt is over the auto-compaction limit, so the
# resumed run compacts it first (remotely: the provider is named "azure", which is how Codex decides
# that a provider compacts on its side), then goes on working and runs a shell command.
codex_compacts_and_goes_on() {
  CODEX_PROVIDER_NAME=azure CODEX_COMPACT_LIMIT=300 codex_setup
  fake_control tool-scripts '{"scripts": []}'
  fake_control reset '{}'
  local padding
  padding=$(for i in $(seq 1 120); do printf 'note%s is just context; ' "$i"; done)
  run_codex codex-long "Remember these notes and say hello. $padding"
  check_codex codex-long '
    if (!items.some(i => i.type === "agent_message")) fail("no answer to the first prompt");'
  run_codex codex-compacted "Say hello again." resume --last
  # Google's calls: one compaction (the gateway's summary instruction), and after it a call that read
  # the summary back from the sealed compaction item.
  fake_requests | node -e '
    const calls = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const text = (c) => JSON.stringify(c.body.request.contents);
    for (const c of calls) console.log("   call: " + c.body.request.contents.length + " turns, " + text(c).length + " chars" + (text(c).includes("handoff summary") ? ", compaction" : "") + (text(c).includes("Summary of the earlier conversation") ? ", reads the summary" : ""));
    const compactions = calls.filter(c => text(c).includes("handoff summary"));
    if (compactions.length !== 1) { console.error("compaction calls: " + compactions.length); process.exit(1); }
    const after = calls.slice(calls.indexOf(compactions[0]) + 1);
    if (!after.some(c => text(c).includes("Summary of the earlier conversation"))) {
      console.error("no call after the compaction read the summary"); process.exit(1);
    }'
  check_codex codex-compacted '
    const answer = items.find(i => i.type === "agent_message");
    if (!answer || !answer.text.includes("from the fake")) fail("no answer after the compaction");'
}

# ---- Claude Code (ANTHROPIC_BASE_URL + ANTHROPIC_AUTH_TOKEN) -----------------------------------------

claude_setup() {
  # A throwaway HOME: no login, settings or history of the machine's user reach the run.
  CLAUDE_HOME_DIR="$WORK/claude-home"
  CLAUDE_PROJECT="$WORK/claude-project"
  mkdir -p "$CLAUDE_HOME_DIR" "$CLAUDE_PROJECT"
}

# claude -p, headless, one JSON result on stdout; the two variables of the README's quick start.
run_claude() {
  local name=$1 prompt=$2
  shift 2
  (
    cd "$CLAUDE_PROJECT"
    env HOME="$CLAUDE_HOME_DIR" ANTHROPIC_BASE_URL="$GATEWAY" ANTHROPIC_AUTH_TOKEN="$PASSWORD" \
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 timeout 180 \
      "$AGENTS/node_modules/.bin/claude" -p "$prompt" --output-format json "$@" </dev/null
  ) >"$WORK/$name.json" 2>"$WORK/$name.err"
}

# Checks the JSON result of a claude run with a small node script given the result as `result`.
check_claude() {
  local name=$1 script=$2
  node -e '
    const fs = require("fs");
    const text = fs.readFileSync(process.argv[1], "utf8");
    const fail = (why) => { console.error(why); console.error(text); process.exit(1); };
    let result;
    try { result = JSON.parse(text); } catch (e) { fail("no JSON result"); }
    if (result.is_error || result.subtype !== "success") fail("the run failed");
    '"$script" "$WORK/$name.json"
}

# The Code Assist calls the fake received, as JSON, for checks in node.
fake_requests() {
  curl -sf "$FAKE/__fake/requests?path=enerateContent"
}

claude_answers_a_prompt() {
  claude_setup
  fake_control tool-scripts '{"scripts": []}'
  fake_control reset '{}'
  run_claude claude-prompt "Say hello."
  check_claude claude-prompt '
    if (!result.result.includes("from the fake")) fail("no answer from the fake");'
  # Claude Code asked for a Claude model by name: the default map sent it to the Pro model.
  fake_requests | node -e '
    const calls = JSON.parse(require("fs").readFileSync(0, "utf8"));
    if (calls.length === 0 || !calls.every(c => c.body.model === "gemini-2.5-pro")) {
      console.error(JSON.stringify(calls.map(c => c.body.model))); process.exit(1);
    }'
}

claude_reads_a_file() {
  claude_setup
  local marker="claude-read-ok-$RANDOM$RANDOM"
  echo "$marker" >"$CLAUDE_PROJECT/notes.txt"
  # The fake answers with a Read call for the file, then quotes what Claude Code sent back; it refuses
  # a replay whose thought signature was lost.
  fake_control reset '{}'
  fake_control tool-scripts "{\"scripts\": [{\"function\": \"Read\", \"args\": {\"file_path\": \"$CLAUDE_PROJECT/notes.txt\"}}]}"
  run_claude claude-read "Read notes.txt and tell me what it says." --allowedTools Read
  MARKER=$marker check_claude claude-read '
    const marker = process.env.MARKER;
    if (result.num_turns < 2) fail("no tool call was made");
    if (!result.result.startsWith("The Read tool returned:") || !result.result.includes(marker))
      fail("the answer does not quote the file");'
  # Both turns of the conversation went out with one Code Assist session_id (Claude Code names its
  # session in X-Claude-Code-Session-Id; the gateway derives Google's trajectory id from it).
  fake_requests | node -e '
    const calls = JSON.parse(require("fs").readFileSync(0, "utf8"))
      .filter(c => c.body.model === "gemini-2.5-pro");
    const ids = new Set(calls.map(c => c.body.request.session_id));
    if (calls.length < 2 || ids.size !== 1 || [...ids].some(id => typeof id !== "string" || id.length !== 36)) {
      console.error(JSON.stringify([...ids])); process.exit(1);
    }'
  fake_control tool-scripts '{"scripts": []}'
}

claude_loads_a_tool_by_search() {
  claude_setup
  # With tool search on, Claude Code answers a ToolSearch call with a `tool_reference` block inside its
  # tool result; the gateway sends it to Gemini as text naming the tool, which the fake then quotes.
  fake_control reset '{}'
  fake_control tool-scripts '{"scripts": [{"function": "ToolSearch", "args": {"query": "select:WebFetch", "max_results": 1}}]}'
  ENABLE_TOOL_SEARCH=true run_claude claude-search "Find the web fetch tool."
  check_claude claude-search '
    if (result.num_turns < 2) fail("no tool call was made");
    if (result.result !== "The ToolSearch tool returned: Tool WebFetch is now available.")
      fail("the tool reference did not reach Gemini as text");'
  fake_control tool-scripts '{"scripts": []}'
}

# ---- runner -----------------------------------------------------------------------------------------

PASSED=0
FAILED=0
run_test() {
  local name=$1
  # AGENT_TESTS="name …" runs only those.
  if [ -n "${AGENT_TESTS:-}" ] && [[ " $AGENT_TESTS " != *" $name "* ]]; then
    return 0
  fi
  echo "-- $name"
  # Not inside `if`: errexit must stay on in the test's subshell.
  set +e
  (
    set -e
    "$name"
  )
  local status=$?
  set -e
  if [ "$status" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "   ok"
  else
    FAILED=$((FAILED + 1))
    echo "   FAILED ($name); gateway log tail:"
    tail -n 20 "$WORK/gateway/gateway.out" || true
  fi
}

start_stack

run_test codex_answers_a_prompt
run_test codex_runs_a_shell_command
run_test codex_over_the_websocket
run_test codex_compacts_and_goes_on
run_test claude_answers_a_prompt
run_test claude_reads_a_file
run_test claude_loads_a_tool_by_search

echo "agent tests: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
