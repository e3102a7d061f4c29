#!/usr/bin/env bash
# Browser tests of the gateway's pages: headless Debian Chromium driven by playwright-core under Node's
# test runner (tests/e2e/). Installs what is missing (Chromium, a CJK font, the npm packages), builds the
# gateway and the fake Google, runs the tests. Screenshots land in tests/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "e2e: need root to run: $*" >&2
    exit 1
  fi
}

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
# The pages show Chinese model prefixes; without a CJK font they render as boxes in screenshots.
[ -f "$CJK_FONT" ] || missing+=(fonts-wqy-zenhei)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "e2e: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

echo "e2e: $("$CHROMIUM" --version 2>/dev/null | tail -n1), node $(node --version)"

# playwright-core only drives the browser; it must not try to download one.
(cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

cargo build --bin gcli2api --example dev_stack

# Files are named explicitly so every Node version runs the same set; the cap keeps a hung browser
# from eating the CI budget.
timeout 900 node --test tests/e2e/*.test.mjs
