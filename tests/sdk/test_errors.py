"""How gateway and upstream failures surface as the OpenAI SDK's typed exceptions."""

import json
from pathlib import Path

import pytest
from openai import AuthenticationError, OpenAI, PermissionDeniedError, RateLimitError

REPO = Path(__file__).resolve().parents[2]

# A 429 puts both credentials in cooldown for the model, so each rate-limit test has a model of its
# own that no other test uses.
RATE_LIMITED_MODEL = "gemini-2.5-flash-lite"
RATE_LIMITED_STREAM_MODEL = "gemini-3-flash-preview"


def _rate_limit_reply() -> dict:
    return {
        "error": {
            "status": 429,
            "body": {
                "error": {
                    "code": 429,
                    "message": "Quota exceeded for this model.",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
                    ],
                }
            },
        }
    }


def test_upstream_429_after_retries_is_a_rate_limit_error(openai_client, fake):
    # More than enough 429s for every credential and retry; the rest is dropped by the next reset.
    for _ in range(6):
        fake.enqueue(_rate_limit_reply())

    with pytest.raises(RateLimitError) as raised:
        openai_client.chat.completions.create(
            model=RATE_LIMITED_MODEL, messages=[{"role": "user", "content": "hi"}]
        )

    assert raised.value.status_code == 429
    calls = fake.generate_requests()
    # Retried on the other credential before giving up.
    assert len(calls) >= 2
    assert len({c["access_token"] for c in calls}) == 2


def test_upstream_429_on_a_stream_is_a_rate_limit_error(openai_client, fake):
    for _ in range(6):
        fake.enqueue(_rate_limit_reply())

    with pytest.raises(RateLimitError):
        stream = openai_client.chat.completions.create(
            model=RATE_LIMITED_STREAM_MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
        list(stream)


def test_wrong_key_is_refused(stack, fake):
    client = OpenAI(api_key="not-the-password", base_url=f"{stack.gateway_url}/v1", max_retries=0)
    try:
        with pytest.raises((AuthenticationError, PermissionDeniedError)) as raised:
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
            )
        assert raised.value.status_code in (401, 403)
        with pytest.raises((AuthenticationError, PermissionDeniedError)):
            client.models.list()
    finally:
        client.close()
    assert fake.generate_requests() == []


def test_unknown_api_key_is_refused(stack, fake):
    client = OpenAI(api_key="sk-does-not-exist", base_url=f"{stack.gateway_url}/v1", max_retries=0)
    try:
        with pytest.raises((AuthenticationError, PermissionDeniedError)):
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        client.close()
    assert fake.generate_requests() == []


# Every credential resting for this model: a model of its own, so no other test is affected.
COOLING_MODEL = "gemini-3-pro-preview"


def _per_minute_reply() -> dict:
    fixture = REPO / "tests/fixtures/google_errors/429_per_minute.json"
    return {"error": {"status": 429, "body": json.loads(fixture.read_text())}}


def test_everyone_cooling_is_a_rate_limit_error_with_retry_after(openai_client, genai_client, fake):
    from google.genai import errors as genai_errors

    # Both credentials get Google's per-minute quota answer, then rest for about a minute.
    for _ in range(2):
        fake.enqueue(_per_minute_reply())
    with pytest.raises(RateLimitError) as first:
        openai_client.chat.completions.create(
            model=COOLING_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert 1 <= int(first.value.response.headers["retry-after"]) <= 60

    # The next request does not reach Google: the gateway's own 429 says when to come back.
    calls_before = len(fake.generate_requests())
    with pytest.raises(RateLimitError) as cooling:
        openai_client.chat.completions.create(
            model=COOLING_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert cooling.value.status_code == 429
    assert cooling.value.code == "model_cooldown"
    assert 50 <= int(cooling.value.response.headers["retry-after"]) <= 60

    with pytest.raises(genai_errors.ClientError) as native:
        genai_client.models.generate_content(model=COOLING_MODEL, contents="hi")
    assert native.value.code == 429
    assert native.value.status == "RESOURCE_EXHAUSTED"
    assert len(fake.generate_requests()) == calls_before
