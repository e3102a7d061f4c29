"""How gateway and upstream failures surface as the OpenAI SDK's typed exceptions."""

import pytest
from openai import AuthenticationError, OpenAI, PermissionDeniedError, RateLimitError

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
