"""OpenAI SDK: a tool call round trip whose thought signature survives the client's second turn."""

import json

MODEL = "gemini-2.5-pro"
SIGNATURE = "c2lnbmF0dXJlLW9mLXR1cm4tb25l"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def _function_call_parts(upstream_request: dict) -> list[dict]:
    return [
        part
        for content in upstream_request["body"]["request"]["contents"]
        for part in content.get("parts", [])
        if "functionCall" in part
    ]


def _function_response_parts(upstream_request: dict) -> list[dict]:
    return [
        part
        for content in upstream_request["body"]["request"]["contents"]
        for part in content.get("parts", [])
        if "functionResponse" in part
    ]


def _second_turn(openai_client, fake, call_id: str, name: str, arguments: str) -> None:
    fake.enqueue({"text": "It is sunny in Paris."})
    answer = openai_client.chat.completions.create(
        model=MODEL,
        tools=TOOLS,
        messages=[
            QUESTION,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": '{"sky": "sunny"}'},
        ],
    )
    assert answer.choices[0].message.content == "It is sunny in Paris."

    second = fake.generate_requests()[-1]
    [call_part] = _function_call_parts(second)
    assert call_part["functionCall"]["name"] == "get_weather"
    assert call_part["functionCall"]["args"] == {"city": "Paris"}
    assert call_part["thoughtSignature"] == SIGNATURE
    [response_part] = _function_response_parts(second)
    assert response_part["functionResponse"]["name"] == "get_weather"
    # The signature travels in the id only between gateway and client, never to Google.
    assert "__sig__" not in json.dumps(second["body"])


def test_tool_round_trip_keeps_the_thought_signature(openai_client, fake):
    fake.enqueue(
        {"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "signature": SIGNATURE}]}
    )
    first = openai_client.chat.completions.create(model=MODEL, messages=[QUESTION], tools=TOOLS)

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [tool_call] = choice.message.tool_calls
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert tool_call.id.endswith(f"__sig__{SIGNATURE}")

    [upstream] = fake.generate_requests()
    declarations = upstream["body"]["request"]["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == ["get_weather"]

    _second_turn(
        openai_client, fake, tool_call.id, tool_call.function.name, tool_call.function.arguments
    )


def test_streamed_tool_call_keeps_the_thought_signature(openai_client, fake):
    fake.enqueue(
        {"function_calls": [{"name": "get_weather", "args": {"city": "Paris"}, "signature": SIGNATURE}]}
    )
    stream = openai_client.chat.completions.create(
        model=MODEL, messages=[QUESTION], tools=TOOLS, stream=True
    )
    calls: dict[int, dict] = {}
    finishes = []
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            if delta.function is not None:
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
    assert finishes == ["tool_calls"]
    [call] = calls.values()
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["id"].endswith(f"__sig__{SIGNATURE}")

    _second_turn(openai_client, fake, call["id"], call["name"], call["arguments"])
