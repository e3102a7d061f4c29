"""The Responses API over a WebSocket (`GET /v1/responses`, Codex's `supports_websockets` mode) with the
`websockets` client: the handshake's authentication, a warm-up, and two responses on one connection,
the second continuing the first although neither is stored."""

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

MODEL = "gemini-2.5-pro"
TERMINAL = {"response.completed", "response.failed", "response.incomplete", "error"}


def _ws_url(gateway: str) -> str:
    return gateway.replace("http://", "ws://") + "/v1/responses"


def _open(gateway: str, key: str):
    return connect(
        _ws_url(gateway),
        additional_headers={
            "Authorization": f"Bearer {key}",
            "OpenAI-Beta": "responses_websockets=2026-02-06",
        },
        open_timeout=10,
    )


def _respond(socket, body: dict) -> list[dict]:
    """Sends one response.create and reads its events up to the terminal one."""
    socket.send(json.dumps({"type": "response.create", **body}))
    events = []
    while True:
        event = json.loads(socket.recv(timeout=30))
        events.append(event)
        if event["type"] in TERMINAL:
            return events


def test_the_handshake_refuses_a_missing_or_wrong_key(gateway, fake):
    with pytest.raises(InvalidStatus) as missing:
        connect(_ws_url(gateway), open_timeout=10)
    assert missing.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as wrong:
        _open(gateway, "sk-unknown-key")
    assert wrong.value.response.status_code in (401, 403)
    assert fake.generate_requests() == []


def test_two_responses_on_one_connection_continue_without_the_store(stack, gateway, fake):
    fake.enqueue({"text": "The capital is Paris."})
    fake.enqueue({"text": "About two million people."})
    with _open(gateway, stack.password) as socket:
        warm = _respond(
            socket,
            {"model": MODEL, "input": "What is the capital of France?", "store": False, "generate": False},
        )
        assert [e["type"] for e in warm] == ["response.created", "response.in_progress", "response.completed"]
        assert fake.generate_requests() == [], "a warm-up does not call Google"

        first = _respond(
            socket,
            {"model": MODEL, "input": [], "previous_response_id": warm[-1]["response"]["id"], "store": False},
        )
        kinds = [e["type"] for e in first]
        assert kinds[0] == "response.created"
        assert "response.output_text.delta" in kinds
        assert kinds[-1] == "response.completed"
        done = first[-1]["response"]
        assert done["store"] is False
        text = "".join(e["delta"] for e in first if e["type"] == "response.output_text.delta")
        assert text == "The capital is Paris."

        second = _respond(
            socket,
            {
                "model": MODEL,
                "previous_response_id": done["id"],
                "input": [{"role": "user", "content": "And its population?"}],
                "store": False,
            },
        )
        assert second[-1]["type"] == "response.completed"

    calls = fake.generate_requests()
    assert len(calls) == 2
    contents = calls[1]["body"]["request"]["contents"]
    texts = [p["text"] for c in contents for p in c["parts"] if "text" in p]
    assert texts[0] == "What is the capital of France?"
    assert "The capital is Paris." in texts
    assert texts[-1] == "And its population?"


def test_a_bad_frame_is_an_error_event_and_the_connection_goes_on(stack, gateway, fake):
    fake.enqueue({"text": "still here"})
    with _open(gateway, stack.password) as socket:
        bad = _respond(socket, {"input": "no model"})
        assert bad == [
            {
                "type": "error",
                "status": 400,
                "error": bad[0]["error"],
            }
        ]
        assert bad[0]["error"]["type"] == "invalid_request_error"
        good = _respond(socket, {"model": MODEL, "input": "hello"})
        assert good[-1]["type"] == "response.completed"
