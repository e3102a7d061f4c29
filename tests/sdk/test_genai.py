"""google-genai SDK against the Gemini-native routes, plus raw calls with each way of presenting the key."""

import json

import httpx
import pytest
from conftest import HEARTBEAT_SECONDS

MODEL = "gemini-2.5-flash"


def test_generate_content(genai_client, fake):
    fake.enqueue({"text": "Bonjour from the fake."})

    response = genai_client.models.generate_content(model=MODEL, contents="Say hello in French.")

    assert response.text == "Bonjour from the fake."
    assert response.candidates[0].finish_reason.name == "STOP"
    assert response.usage_metadata.candidates_token_count == 4

    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:generateContent"
    assert upstream["model"] == MODEL
    contents = upstream["body"]["request"]["contents"]
    assert contents[-1]["parts"][0]["text"] == "Say hello in French."


def test_generate_content_stream(genai_client, fake):
    fake.enqueue({"chunks": ["Alpha ", "beta ", "gamma."]})

    pieces = [
        chunk.text
        for chunk in genai_client.models.generate_content_stream(model=MODEL, contents="Three words.")
        if chunk.text
    ]

    assert pieces == ["Alpha ", "beta ", "gamma."]
    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:streamGenerateContent"


def test_generate_content_with_thoughts_and_config(genai_client, fake):
    from google.genai import types

    fake.enqueue({"thought": "Consider the options.", "text": "Option B."})

    response = genai_client.models.generate_content(
        model=MODEL,
        contents="Pick one.",
        config=types.GenerateContentConfig(
            temperature=0.25,
            max_output_tokens=64,
            system_instruction="Be decisive.",
            thinking_config=types.ThinkingConfig(include_thoughts=True),
        ),
    )

    parts = response.candidates[0].content.parts
    assert [p.text for p in parts if p.thought] == ["Consider the options."]
    assert [p.text for p in parts if not p.thought] == ["Option B."]
    request = fake.generate_requests()[0]["body"]["request"]
    assert request["generationConfig"]["temperature"] == 0.25
    assert request["generationConfig"]["maxOutputTokens"] == 64
    assert request["systemInstruction"]["parts"][0]["text"] == "Be decisive."


def test_count_tokens(genai_client, fake):
    result = genai_client.models.count_tokens(model=MODEL, contents="one two three four five")

    assert result.total_tokens == 5
    [upstream] = fake.requests("/v1internal:countTokens")
    assert upstream["method"] == "POST"


def test_sdk_sends_the_key_in_x_goog_api_key(stack, fake):
    """The SDK's own header style, observed on the wire by a transport hook."""
    from google import genai

    seen: list[httpx.Request] = []
    client = genai.Client(
        api_key=stack.password,
        http_options={
            "base_url": stack.gateway_url,
            "client_args": {"event_hooks": {"request": [seen.append]}},
        },
    )
    fake.enqueue({"text": "ok"})

    assert client.models.generate_content(model=MODEL, contents="ping").text == "ok"
    assert seen and seen[-1].headers.get("x-goog-api-key") == stack.password
    assert "authorization" not in {k.lower() for k in seen[-1].headers}


@pytest.mark.parametrize("style", ["query-key", "bearer", "x-goog-api-key"])
def test_raw_calls_with_each_auth_style(stack, fake, style):
    fake.enqueue({"text": f"answer for {style}"})
    url = f"{stack.gateway_url}/v1beta/models/{MODEL}:generateContent"
    params, headers = {}, {}
    if style == "query-key":
        params["key"] = stack.password
    elif style == "bearer":
        headers["Authorization"] = f"Bearer {stack.password}"
    else:
        headers["x-goog-api-key"] = stack.password
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

    answer = httpx.post(url, params=params, headers=headers, json=body, timeout=30)

    assert answer.status_code == 200, answer.text
    parts = answer.json()["candidates"][0]["content"]["parts"]
    assert "".join(p.get("text", "") for p in parts) == f"answer for {style}"


def test_raw_stream_with_query_key(stack, fake):
    fake.enqueue({"chunks": ["a", "b"]})
    url = f"{stack.gateway_url}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

    texts = []
    with httpx.stream(
        "POST", url, params={"alt": "sse", "key": stack.password}, json=body, timeout=30
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                for part in event["candidates"][0]["content"]["parts"]:
                    texts.append(part.get("text", ""))
    assert "".join(texts) == "ab"


@pytest.mark.parametrize("style", ["query-key", "bearer", "x-goog-api-key"])
def test_wrong_key_is_refused_for_each_auth_style(stack, fake, style):
    url = f"{stack.gateway_url}/v1beta/models/{MODEL}:generateContent"
    params, headers = {}, {}
    if style == "query-key":
        params["key"] = "wrong-key"
    elif style == "bearer":
        headers["Authorization"] = "Bearer wrong-key"
    else:
        headers["x-goog-api-key"] = "wrong-key"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

    answer = httpx.post(url, params=params, headers=headers, json=body, timeout=30)

    assert answer.status_code in (401, 403)
    assert answer.json()["error"]["code"] == answer.status_code
    assert fake.generate_requests() == []


def test_genai_sdk_with_wrong_key_raises_client_error(stack, fake):
    from google import genai
    from google.genai import errors

    client = genai.Client(api_key="wrong-key", http_options={"base_url": stack.gateway_url})
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=MODEL, contents="hi")
    assert raised.value.code in (401, 403)


def test_fake_streaming_prefix_through_the_sdk(genai_client, fake):
    fake.enqueue({"text": "The answer, all at once.", "delay_ms": int(HEARTBEAT_SECONDS * 1000 * 4)})

    chunks = list(genai_client.models.generate_content_stream(model=f"假流式/{MODEL}", contents="hi"))

    texts = [chunk.text or "" for chunk in chunks]
    assert "".join(texts) == "The answer, all at once."
    # Heartbeats are empty model turns before the answer.
    assert texts[-1] == "The answer, all at once."
    assert len(texts) >= 3 and all(t == "" for t in texts[:-1])
    finishes = [c.candidates[0].finish_reason for c in chunks if c.candidates[0].finish_reason]
    assert [f.name for f in finishes] == ["STOP"]
    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:generateContent"


def test_anti_truncation_prefix_through_the_sdk(genai_client, fake):
    fake.enqueue({"chunks": ["one ", "two"]})
    fake.enqueue({"chunks": [" three", "\n[done]"]})

    chunks = list(
        genai_client.models.generate_content_stream(model=f"流式抗截断/{MODEL}", contents="count")
    )

    text = "".join(chunk.text or "" for chunk in chunks)
    assert text.rstrip() == "one two three"
    finishes = [c.candidates[0].finish_reason for c in chunks if c.candidates[0].finish_reason]
    assert [f.name for f in finishes] == ["STOP"]
    assert len(fake.generate_requests()) == 2
