"""OpenAI SDK: plain chat, streaming, JSON mode, reasoning content and the model list."""

import json

MODEL = "gemini-2.5-flash"


def test_non_stream_chat_returns_the_upstream_text(openai_client, fake):
    fake.enqueue({"text": "The capital of France is Paris."})

    completion = openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Capital of France?"},
        ],
    )

    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "The capital of France is Paris."
    assert choice.finish_reason == "stop"
    assert completion.model == MODEL
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 6

    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:generateContent"
    assert upstream["model"] == MODEL
    request = upstream["body"]["request"]
    assert request["contents"][-1] == {"role": "user", "parts": [{"text": "Capital of France?"}]}
    assert request["systemInstruction"]["parts"][0]["text"] == "Answer briefly."


def test_stream_chat_through_the_sdk_iterator(openai_client, fake):
    fake.enqueue({"chunks": ["One, ", "two, ", "three."]})

    stream = openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Count to three."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One, two, three."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens == 3
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1

    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:streamGenerateContent"


def test_reasoning_content_is_readable_from_the_sdk_objects(openai_client, fake):
    fake.enqueue({"thought": "Two plus two is four.", "text": "4"})
    completion = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "2+2?"}]
    )
    message = completion.choices[0].message
    assert message.content == "4"
    assert message.reasoning_content == "Two plus two is four."

    fake.enqueue({"thought": "Adding the numbers.", "text": "5"})
    stream = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "2+3?"}], stream=True
    )
    reasoning, content = "", ""
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        reasoning += getattr(delta, "reasoning_content", None) or ""
        content += delta.content or ""
    assert reasoning == "Adding the numbers."
    assert content == "5"


def test_json_object_mode_sets_the_response_mime_type(openai_client, fake):
    fake.enqueue({"text": '{"answer": 42}'})
    completion = openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Reply in JSON."}],
        response_format={"type": "json_object"},
    )
    assert json.loads(completion.choices[0].message.content) == {"answer": 42}

    [upstream] = fake.generate_requests()
    config = upstream["body"]["request"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseSchema" not in config


def test_json_schema_mode_sends_the_schema_upstream(openai_client, fake):
    fake.enqueue({"text": '{"city": "Paris", "population": 2102650}'})
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    completion = openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Largest French city?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "strict": True, "schema": schema},
        },
    )
    assert json.loads(completion.choices[0].message.content)["city"] == "Paris"

    [upstream] = fake.generate_requests()
    config = upstream["body"]["request"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    sent = config["responseSchema"]
    assert sent["type"].lower() == "object"
    assert sent["properties"]["city"]["type"].lower() == "string"
    assert sent["properties"]["population"]["type"].lower() == "integer"
    assert sent["required"] == ["city", "population"]


def test_models_list(openai_client):
    models = list(openai_client.models.list())
    ids = [m.id for m in models]
    assert "gemini-2.5-pro" in ids
    assert "gemini-2.5-flash" in ids
    assert "假流式/gemini-2.5-pro" in ids
    assert "流式抗截断/gemini-2.5-pro" in ids
    assert all(m.object == "model" for m in models)
    assert len(ids) == len(set(ids))
