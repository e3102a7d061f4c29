#!/usr/bin/env bash
# The test command: formatting, lints, dependency checks (cargo deny), the Rust test suites (storage
# contract tests against the local Redis and PostgreSQL when they answer), the official-SDK tests,
# the browser tests and the agent clients.
#
#     scripts/test.sh          everything
#     scripts/test.sh quick    the inner loop: fmt check, clippy, the Rust tests (nextest); no
#                              dependency check, no SDK, browser or agent suites
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Redis and PostgreSQL run on these machines before any session; start them if they stopped.
ensure_services() {
  if ! port_open 6379 && command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
  fi
  if ! port_open 5432 && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 20); do
    port_open 6379 && port_open 5432 && break
    sleep 0.5
  done
  if port_open 6379; then
    export REDIS_URI="${REDIS_URI:-redis://127.0.0.1:6379}"
  fi
  if port_open 5432; then
    export POSTGRES_DSN="${POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test}"
  fi
  if [ "${CI:-}" = "true" ] && { [ -z "${REDIS_URI:-}" ] || [ -z "${POSTGRES_DSN:-}" ]; }; then
    echo "CI needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432" >&2
    exit 1
  fi
  # A service's tests are compiled only when it is there (cargo features), so a test that cannot run
  # is reported as not run instead of passing without having done anything.
  SERVICE_FEATURES=()
  if [ -n "${REDIS_URI:-}" ]; then
    SERVICE_FEATURES+=(redis-tests)
    echo "REDIS_URI=${REDIS_URI}: Redis tests run"
  else
    echo "NOT RUN: Redis tests (no Redis on 127.0.0.1:6379 and REDIS_URI unset)"
  fi
  if [ -n "${POSTGRES_DSN:-}" ]; then
    SERVICE_FEATURES+=(postgres-tests)
    echo "POSTGRES_DSN=${POSTGRES_DSN}: PostgreSQL tests run"
  else
    echo "NOT RUN: PostgreSQL tests (no PostgreSQL on 127.0.0.1:5432 and POSTGRES_DSN unset)"
  fi
  if [ -n "${MONGODB_URI:-}" ]; then
    SERVICE_FEATURES+=(mongodb-tests)
    echo "MONGODB_URI is set: MongoDB tests run"
  else
    echo "NOT RUN: MongoDB tests (MONGODB_URI unset)"
  fi
  FEATURES="$(IFS=,; echo "${SERVICE_FEATURES[*]:-}")"
}

MODE=${1:-full}
case "$MODE" in
  full | quick) ;;
  *)
    echo "usage: scripts/test.sh [quick]" >&2
    exit 2
    ;;
esac

# cargo deny, installed once into ~/.cargo/bin; it reads the vendored RustSec advisories
# (deny/advisory-db, refreshed by scripts/update-advisories.sh) because the test machines reach
# crates.io but not GitHub. cargo-deny wants the database as a git checkout under db-path
# (deny.toml): a copy there, dated by the snapshot, so `maximum-db-staleness` counts from it.
CARGO_DENY_VERSION=0.20.2
dependency_checks() {
  if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    echo "installing cargo-deny $CARGO_DENY_VERSION (once; a few minutes)"
    cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
  fi
  local dbs=target/advisory-dbs
  # The directory name cargo-deny derives from the URL in deny.toml (its name, then a hash of it).
  local db=$dbs/advisory-db-3157b0e258782691
  local snapshot_date
  snapshot_date=$(sed -n 's/^date //p' deny/advisory-db/SNAPSHOT)
  rm -rf "$db"
  mkdir -p "$db/.git"
  cp -R deny/advisory-db/crates "$db/crates"
  touch -d "$snapshot_date" "$db/.git/FETCH_HEAD"
  # cargo-deny reads the manifest of every package in Cargo.lock, those of other platforms too
  # (Windows, Android, wasm), which a build on this one never downloads: fetch them from crates.io
  # first, as `--offline` cannot.
  cargo fetch --locked --quiet
  cargo deny --offline --locked check advisories licenses bans sources
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --all-features -- -D warnings

if [ "$MODE" = full ]; then
  step "cargo deny (advisories, licenses, bans, sources)"
  dependency_checks
fi

step "services"
ensure_services

step "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast --features "$FEATURES"
else
  cargo test --no-fail-fast --features "$FEATURES"
fi

if [ "$MODE" = quick ]; then
  step "quick checks passed (no dependency check, SDK, browser or agent suites)"
  exit 0
fi

if [ -f scripts/sdk-tests.sh ]; then
  step "official SDK tests"
  bash scripts/sdk-tests.sh
fi

if [ -f scripts/e2e-tests.sh ]; then
  step "browser tests"
  bash scripts/e2e-tests.sh
fi

if [ -f scripts/agent-tests.sh ]; then
  step "agent clients"
  bash scripts/agent-tests.sh
fi

step "all tests passed"
