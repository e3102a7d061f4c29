"""OpenAI SDK, Responses API: `client.responses.create` and `client.responses.stream` against the gateway."""

import json

import pytest
from openai import (
    BadRequestError,
    NotFoundError,
    OpenAI,
    PermissionDeniedError,
    RateLimitError,
)
from pydantic import BaseModel

MODEL = "gemini-2.5-pro"
SIGNATURE = "cmVzcG9uc2VzLXNpZ25hdHVyZQ=="
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]
# Cooldowns are per base model: the rate-limit test uses a model no other test touches.
RATE_LIMITED_MODEL = "gemini-2.0-flash-responses"


def _upstream(fake, index: int = -1) -> dict:
    return fake.generate_requests()[index]["body"]["request"]


def test_create_returns_text_and_full_usage(openai_client, fake):
    fake.enqueue({"text": "Hello there."})
    response = openai_client.responses.create(
        model=MODEL, instructions="Be brief.", input="Say hello."
    )
    assert response.status == "completed"
    assert response.output_text == "Hello there."
    assert response.id.startswith("resp_")
    assert response.usage.input_tokens > 0
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    request = _upstream(fake)
    assert request["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert request["contents"][0]["parts"][0]["text"] == "Say hello."


def test_stream_delivers_reasoning_and_text_events(openai_client, fake):
    fake.enqueue({"chunks": ["Hel", "lo ", "world"], "thought": "Greeting the user."})
    kinds = []
    text = ""
    with openai_client.responses.stream(
        model=MODEL, input="Greet me.", reasoning={"effort": "high", "summary": "auto"}
    ) as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert text == "Hello world"
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    assert final.output_text == "Hello world"
    reasoning = [item for item in final.output if item.type == "reasoning"]
    assert reasoning[0].summary[0].text == "Greeting the user."
    thinking = _upstream(fake)["generationConfig"]["thinkingConfig"]
    assert thinking == {"thinkingBudget": 24576, "includeThoughts": True}


def test_function_tool_round_trip_keeps_the_signature(openai_client, fake):
    fake.enqueue(
        {"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "signature": SIGNATURE}]}
    )
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = openai_client.responses.create(
        model=MODEL, input=question, tools=TOOLS, store=False, include=["reasoning.encrypted_content"]
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}

    fake.enqueue({"text": "It is sunny in Paris."})
    replay = question + [item.model_dump(exclude_none=True) for item in first.output]
    replay.append({"type": "function_call_output", "call_id": call.call_id, "output": '{"sky": "sunny"}'})
    second = openai_client.responses.create(model=MODEL, input=replay, tools=TOOLS, store=False)
    assert second.output_text == "It is sunny in Paris."

    contents = _upstream(fake)["contents"]
    call_parts = [p for c in contents for p in c["parts"] if "functionCall" in p]
    assert call_parts == [
        {
            "functionCall": {"id": call.call_id, "name": "get_weather", "args": {"city": "Paris"}},
            "thoughtSignature": SIGNATURE,
        }
    ]
    response_parts = [p for c in contents for p in c["parts"] if "functionResponse" in p]
    assert response_parts[0]["functionResponse"]["response"] == {"sky": "sunny"}


def test_streamed_function_call_arguments(openai_client, fake):
    fake.enqueue({"function_calls": [{"name": "get_weather", "args": {"city": "Oslo"}}]})
    with openai_client.responses.stream(model=MODEL, input="Weather in Oslo?", tools=TOOLS) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert json.loads("".join(deltas)) == {"city": "Oslo"}
    [call] = [item for item in final.output if item.type == "function_call"]
    assert call.name == "get_weather"


def test_previous_response_id_continues_and_retrieve_works(openai_client, fake):
    fake.enqueue({"text": "Paris."})
    first = openai_client.responses.create(model=MODEL, input="Capital of France?")
    fake.enqueue({"text": "About two million."})
    second = openai_client.responses.create(
        model=MODEL, input="And its population?", previous_response_id=first.id
    )
    assert second.output_text == "About two million."
    assert second.previous_response_id == first.id
    contents = _upstream(fake)["contents"]
    assert [c["parts"][0]["text"] for c in contents] == [
        "Capital of France?",
        "Paris.",
        "And its population?",
    ]
    fetched = openai_client.responses.retrieve(first.id)
    assert fetched.output_text == "Paris."


def test_unknown_previous_response_is_not_found(openai_client, fake):
    with pytest.raises(NotFoundError) as raised:
        openai_client.responses.create(model=MODEL, input="x", previous_response_id="resp_missing")
    assert raised.value.code == "previous_response_not_found"
    assert fake.generate_requests() == []


def test_json_schema_output_parses(openai_client, fake):
    class Colour(BaseModel):
        name: str
        hex: str

    fake.enqueue({"text": '{"name": "red", "hex": "#ff0000"}'})
    parsed = openai_client.responses.parse(model=MODEL, input="Name a colour.", text_format=Colour)
    assert parsed.output_parsed == Colour(name="red", hex="#ff0000")
    config = _upstream(fake)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["type"] == "OBJECT"
    assert set(config["responseSchema"]["properties"]) == {"name", "hex"}


def test_image_input_reaches_google_inline(openai_client, fake):
    fake.enqueue({"text": "A red dot."})
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    response = openai_client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{pixel}"},
                ],
            }
        ],
    )
    assert response.output_text == "A red dot."
    parts = _upstream(fake)["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": pixel}}


def test_errors_are_typed(openai_client, fake, stack):
    with pytest.raises(BadRequestError) as raised:
        openai_client.responses.create(model=MODEL, input="x", temperature=5)
    assert "temperature" in raised.value.message

    stranger = OpenAI(api_key="wrong", base_url=f"{stack.gateway_url}/v1", max_retries=0)
    with pytest.raises(PermissionDeniedError):
        stranger.responses.create(model=MODEL, input="x")
    stranger.close()
    # A missing key is a 401 AuthenticationError; the SDK itself refuses to send none, so the HTTP
    # level is covered in tests/api/responses.rs.

    for _ in range(6):
        fake.enqueue(
            {"error": {"status": 429, "google_status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded."}}
        )
    with pytest.raises(RateLimitError) as limited:
        openai_client.responses.create(model=RATE_LIMITED_MODEL, input="x")
    assert limited.value.status_code == 429
