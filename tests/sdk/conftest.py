"""Starts the fake Google (with its /__fake/ control API) and the real gateway binary once per session,
through the one launcher of the repository (examples/dev_stack.rs).

`SDK_POOL=api_key` runs the same suites against a gateway whose pool holds only a Gemini API key (the
Generative Language API instead of Code Assist). The fake scripts key calls under the key, so PROJECT
is the key then; `FakeControl` shows those calls in the Code Assist shape the tests read (method path,
`{"model","project","request"}` body), after checking they really went out bare with the key.

Both binaries must already be built (scripts/sdk-tests.sh does it); they are looked up in
$CARGO_TARGET_DIR/debug, then target/debug. Every test starts with the fake reset: no queued replies,
no recorded requests.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "sdk-test-password"
# Both credentials name the same project so that one reply queue serves whichever credential the
# gateway picks; the fake scripts replies per project.
POOL = os.environ.get("SDK_POOL", "code_assist")
API_KEY = "AIzaSySdkTestKey000001"
PROJECT = API_KEY if POOL == "api_key" else "sdk-project"
HEARTBEAT_SECONDS = 0.2
START_TIMEOUT = 60.0

# Loopback traffic must never go through a proxy configured for the machine.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def _binary(relative: str) -> Path:
    roots = []
    if os.environ.get("CARGO_TARGET_DIR"):
        roots.append(Path(os.environ["CARGO_TARGET_DIR"]))
    roots.append(REPO / "target")
    for root in roots:
        candidate = root / "debug" / relative
        if candidate.is_file():
            return candidate
    raise RuntimeError(
        f"{relative} is not built under {', '.join(str(r) for r in roots)}; "
        "run `cargo build --bin gcli2api --example dev_stack` first"
    )


def _credential(refresh_token: str) -> dict:
    return {
        "client_id": "test-client.apps.googleusercontent.com",
        "client_secret": "test-secret",
        "refresh_token": refresh_token,
        "project_id": PROJECT,
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def _die_with_parent() -> None:
    """Runs in the child before exec: if the test process is killed outright (no finalizers), Linux
    sends the launcher SIGTERM, and it stops the gateway, instead of leaving both running."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    # Closing stdin is the launcher's cue to stop the gateway and the fake.
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=20)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def _gateway_env(workdir: Path) -> dict:
    """The launcher passes its environment on to the gateway and points every Google endpoint at
    the fake (`{google}` below is the fake's URL)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        {
            "WORKERS": "2",
            "PASSWORD": PASSWORD,
            "CREDENTIALS_DIR": str(workdir / "creds"),
            "LOG_FILE": str(workdir / "gateway-log.txt"),
            "LOG_LEVEL": "info",
            "OAUTH_AUTH_URL": "{google}/o/oauth2/auth",
            "RETRY_429_INTERVAL": "0",
            "IMAGE_FETCH_ALLOW_PRIVATE": "true",
            "FAKE_STREAM_HEARTBEAT_INTERVAL": str(HEARTBEAT_SECONDS),
            "ANTI_TRUNCATION_MAX_ATTEMPTS": "3",
            "GEMINI_API_ENDPOINT": "{google}",
        }
    )
    if POOL == "api_key":
        env["GEMINI_API_KEYS"] = API_KEY
    return env


def _start_stack(workdir: Path) -> tuple[subprocess.Popen, str, str]:
    """examples/dev_stack: the fake Google (with its control API) and the gateway; returns the
    launcher and the two URLs once the gateway answers."""
    creds = workdir / "creds"
    creds.mkdir()
    if POOL != "api_key":
        for name in ("sdk-a", "sdk-b"):
            (creds / f"{name}.json").write_text(json.dumps(_credential(f"rt-{name}")))
    env = _gateway_env(workdir)
    # Launcher options, then the gateway's environment (`{google}` expanded by the launcher).
    command = [
        str(_binary("examples/dev_stack")),
        "--gateway-bin",
        str(_binary("gcli2api")),
        "--dir",
        str(workdir),
        "--ready-path",
        "/healthz",
        "--timeout-secs",
        str(int(START_TIMEOUT)),
        "--control",
        "--api-key",
        API_KEY,
    ]
    for key in [k for k in env if "{google}" in env[k]]:
        command += ["--env", f"{key}={env.pop(key)}"]
    output = workdir / "launcher.err"
    with output.open("w") as sink:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            cwd=workdir,
            preexec_fn=_die_with_parent,
        )
    assert process.stdout is not None
    # One JSON line once the gateway is up; the launcher fails on its own after START_TIMEOUT.
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=20)
        raise RuntimeError(f"the stack did not start ({process.returncode}):\n{_tail(output)}")
    stack = json.loads(line)
    url = stack["gateway"]
    # Ready means answering the model list, not only listening.
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            answer = httpx.get(
                f"{url}/v1/models", headers={"Authorization": f"Bearer {PASSWORD}"}, timeout=2
            )
            if answer.status_code == 200:
                return process, url, stack["google"]
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"gateway did not become ready:\n{_tail(workdir / 'gateway.out')}")
        time.sleep(0.1)


def _as_code_assist(record: dict) -> dict:
    """A Generative Language call in the Code Assist shape; other records unchanged. Checks first that
    it went out as the API-key pool must send it: bare body, the key header, no bearer token."""
    path = record["path"]
    if not path.startswith("/v1beta/models/"):
        return record
    model, method = path.removeprefix("/v1beta/models/").split(":", 1)
    headers = {name.lower(): value for name, value in record["headers"].items()}
    assert headers.get("x-goog-api-key") == API_KEY, record
    assert "authorization" not in headers, record
    assert "request" not in (record["body"] or {}), record
    return {
        **record,
        "path": f"/v1internal:{method}",
        "body": {"model": model, "project": PROJECT, "request": record["body"]},
    }


class FakeControl:
    """Client of the fake's /__fake/ control API."""

    def __init__(self, url: str):
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=10)

    def enqueue(self, reply: dict, project: str = PROJECT) -> None:
        answer = self._http.post("/__fake/enqueue", json={"project": project, "reply": reply})
        answer.raise_for_status()

    def reset(self) -> None:
        self._http.post("/__fake/reset").raise_for_status()

    def requests(self, path: str | None = None) -> list[dict]:
        if POOL == "api_key" and path and path.startswith("/v1internal:"):
            method = path.removeprefix("/v1internal:")
            return [
                r
                for r in self.requests("/v1beta/models/")
                if r["path"].startswith("/v1internal:" + method)
            ]
        params = {"path": path} if path else None
        answer = self._http.get("/__fake/requests", params=params)
        answer.raise_for_status()
        return [_as_code_assist(r) for r in answer.json()]

    def generate_requests(self) -> list[dict]:
        """Code Assist generate / stream calls, oldest first."""
        return [
            r
            for r in self.requests("/v1internal:")
            if r["path"].endswith((":generateContent", ":streamGenerateContent"))
        ]

    def close(self) -> None:
        self._http.close()


@dataclass
class Stack:
    gateway_url: str
    password: str
    fake: FakeControl
    workdir: Path

    def gateway_log(self) -> str:
        return _tail(self.workdir / "gateway.out", 80)


@pytest.fixture(scope="session")
def stack():
    with tempfile.TemporaryDirectory(prefix="gcli2api-sdk-") as tmp:
        workdir = Path(tmp)
        process, gateway_url, fake_url = _start_stack(workdir)
        control = FakeControl(fake_url)
        try:
            yield Stack(gateway_url, PASSWORD, control, workdir)
        finally:
            control.close()
            _stop(process)


@pytest.fixture
def fake(stack) -> FakeControl:
    stack.fake.reset()
    return stack.fake


@pytest.fixture
def gateway(stack) -> str:
    return stack.gateway_url


@pytest.fixture
def openai_client(stack, fake):
    from openai import OpenAI

    client = OpenAI(
        api_key=stack.password,
        base_url=f"{stack.gateway_url}/v1",
        max_retries=0,
        timeout=30,
    )
    yield client
    client.close()


@pytest.fixture
def genai_client(stack, fake):
    from google import genai

    return genai.Client(
        api_key=stack.password,
        http_options={"base_url": stack.gateway_url, "timeout": 30_000},
    )
