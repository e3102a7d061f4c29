#!/usr/bin/env bash
# Runs the official-SDK tests (tests/sdk): the openai and google-genai Python packages against the real
# gateway binary and the fake Google example server. Creates or reuses the virtualenv .venv-sdk.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-sdk
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/sdk/requirements.txt

# The fixtures start these binaries from $CARGO_TARGET_DIR/debug (or target/debug).
cargo build --bin gcli2api --example dev_stack

"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/sdk "$@"

# The chat and Gemini suites once more against a pool of one Gemini API key (no Code Assist login).
# Arguments select tests of the first pass only.
if [ "$#" -eq 0 ]; then
  SDK_POOL=api_key "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/sdk/test_openai_chat.py tests/sdk/test_genai.py
fi
