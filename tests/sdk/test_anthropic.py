"""The official `anthropic` SDK against /v1/messages: plain, stream, tools over two turns (the thought
signature checked upstream), thinking, image, count_tokens and every error class the SDK maps."""

import base64

import anthropic
import httpx
import pytest

# Claude names go through ANTHROPIC_MODEL_MAP: opus → gemini-2.5-pro, haiku → gemini-2.5-flash.
MODEL = "claude-opus-5-5"
# A 429 cools the model down on both credentials; this base model is used by no other test.
RATE_LIMITED_MODEL = "gemini-2.5-flash-anthropic-429"
# One transparent pixel.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


@pytest.fixture
def client(stack, fake):
    client = anthropic.Anthropic(
        api_key=stack.password, base_url=stack.gateway_url, max_retries=0, timeout=30
    )
    yield client
    client.close()


def last_request(fake) -> dict:
    return fake.generate_requests()[-1]["body"]


def test_plain_message(client, fake):
    fake.enqueue({"text": "Hello from Gemini"})
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello from Gemini"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens == 3
    sent = fake.generate_requests()[-1]
    assert sent["model"] == "gemini-2.5-pro"
    assert sent["body"]["request"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["body"]["request"]["generationConfig"]["maxOutputTokens"] == 256


def test_bearer_token_like_claude_code(stack, fake):
    fake.enqueue({"text": "ok"})
    with anthropic.Anthropic(
        auth_token=stack.password, base_url=stack.gateway_url, max_retries=0
    ) as bearer:
        message = bearer.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content[0].text == "ok"
    assert fake.generate_requests()[-1]["model"] == "gemini-2.5-flash"


def test_stream_events_and_final_message(client, fake):
    fake.enqueue({"chunks": ["Hel", "lo ", "world"], "thought": "considering"})
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert kinds.count("text") == 3
    assert "thinking" in kinds
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "considering"
    assert final.content[1].text == "Hello world"
    assert final.stop_reason == "end_turn"
    assert fake.generate_requests()[-1]["path"].endswith(":streamGenerateContent")


def test_tools_round_trip_over_two_turns(client, fake):
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    fake.enqueue(
        {"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "signature": "c2lnLXNkaw=="}]}
    )
    question = {"role": "user", "content": "Weather in Paris?"}
    first = client.messages.create(
        model="gemini-3-pro-preview", max_tokens=256, tools=tools, messages=[question]
    )
    assert first.stop_reason == "tool_use"
    tool_use = next(b for b in first.content if b.type == "tool_use")
    assert tool_use.name == "get_weather"
    assert tool_use.input == {"city": "Paris"}

    fake.enqueue({"text": "It is 21 degrees in Paris."})
    second = client.messages.create(
        model="gemini-3-pro-preview",
        max_tokens=256,
        tools=tools,
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "21C"}],
            },
        ],
    )
    assert second.content[0].text == "It is 21 degrees in Paris."
    contents = last_request(fake)["request"]["contents"]
    call = contents[1]["parts"][-1]
    assert call["functionCall"]["name"] == "get_weather"
    assert call["thoughtSignature"] == "c2lnLXNkaw=="
    response = contents[2]["parts"][0]["functionResponse"]
    assert response["name"] == "get_weather"
    assert response["response"] == {"result": "21C"}
    assert response["id"] == call["functionCall"]["id"]


def test_thinking_budget_and_blocks(client, fake):
    fake.enqueue({"text": "42", "thought": "six times seven"})
    message = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "6*7?"}],
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "six times seven"
    config = last_request(fake)["request"]["generationConfig"]["thinkingConfig"]
    assert config == {"thinkingBudget": 2048, "includeThoughts": True}


def test_image_block_reaches_gemini_inline(client, fake):
    fake.enqueue({"text": "a pixel"})
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "text", "text": "What is this?"},
                ],
            }
        ],
    )
    parts = last_request(fake)["request"]["contents"][0]["parts"]
    assert parts[0] == {"inlineData": {"mimeType": "image/png", "data": PNG}}
    assert parts[1] == {"text": "What is this?"}


def test_count_tokens(client, fake):
    counted = client.messages.count_tokens(
        model=MODEL,
        system="one two",
        messages=[{"role": "user", "content": "three four five"}],
    )
    assert counted.input_tokens == 5
    calls = fake.requests(":countTokens")
    assert calls[-1]["body"]["request"]["model"] == "models/gemini-2.5-pro"


def test_invalid_request_is_a_bad_request_error(client, fake):
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 5},
        )
    assert raised.value.status_code == 400
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert raised.value.body["error"]["message"].startswith("temperature")
    assert fake.generate_requests() == []


def test_wrong_and_missing_keys(stack, fake):
    with anthropic.Anthropic(api_key="wrong", base_url=stack.gateway_url, max_retries=0) as wrong:
        with pytest.raises(anthropic.PermissionDeniedError) as raised:
            wrong.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["error"]["type"] == "permission_error"
    # The SDK always sends a key, so the missing-key case is checked on the wire.
    answer = httpx.post(
        f"{stack.gateway_url}/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": answer.json()["error"]["message"]},
    }


def test_upstream_errors_map_to_sdk_exceptions(client, fake):
    fake.enqueue({"error": {"status": 404, "google_status": "NOT_FOUND", "message": "no such model"}})
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])

    for _ in range(6):
        fake.enqueue({"error": {"status": 429, "google_status": "RESOURCE_EXHAUSTED", "message": "slow down"}})
    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(
            model=RATE_LIMITED_MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.body["error"]["type"] == "rate_limit_error"


def test_server_error_and_error_inside_a_stream(client, fake, monkeypatch):
    fake.enqueue({"error": {"status": 500, "google_status": "INTERNAL", "message": "boom"}})
    # One credential's 500 is retried on the other; both fail here.
    fake.enqueue({"error": {"status": 500, "google_status": "INTERNAL", "message": "boom"}})
    with pytest.raises(anthropic.InternalServerError) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["error"]["type"] == "api_error"

    fake.enqueue({"chunks": ["one ", "two ", "three"], "cut_after": 1})
    with pytest.raises(anthropic.APIStatusError) as raised:
        with client.messages.stream(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
    assert raised.value.body["error"]["type"] == "api_error"


def test_fake_streaming_and_anti_truncation_prefixes(client, fake):
    # Google answers after several heartbeat intervals: the SDK skips the pings before message_start.
    fake.enqueue({"text": "All at once", "delay_ms": 700})
    with client.messages.stream(
        model="假流式/claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "All at once"
    assert fake.generate_requests()[-1]["path"].endswith(":generateContent")

    fake.enqueue({"chunks": ["part one "]})
    fake.enqueue({"chunks": ["part two [done]"]})
    with client.messages.stream(
        model="流式抗截断/claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "part one part two"
    assert final.stop_reason == "end_turn"
