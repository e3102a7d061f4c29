"""OpenAI SDK: one credential per conversation (prompt_cache_key), cached tokens in the typed usage,
and a conversation whose history holds a broken tool call."""

MODEL = "gemini-2.5-flash"
# The gateway of these tests rotates every 10 calls (the default CALLS_PER_ROTATION).
TURNS = 12


def _credential_of(request: dict) -> str:
    """The fake issues access tokens `at-<refresh token>-<n>`: the refresh token names the credential."""
    return request["access_token"].rsplit("-", 1)[0]


def test_a_conversation_keeps_its_credential_while_new_ones_rotate(openai_client, fake):
    history = [
        {"role": "system", "content": "You are a travel guide."},
        {"role": "user", "content": "Plan a week in Lisbon."},
    ]
    conversation, one_offs = [], []
    for turn in range(TURNS):
        answer = openai_client.chat.completions.create(
            model=MODEL, messages=history, prompt_cache_key="trip-lisbon"
        )
        conversation.append(_credential_of(fake.generate_requests()[-1]))
        history.append({"role": "assistant", "content": answer.choices[0].message.content})
        history.append({"role": "user", "content": f"And day {turn + 2}?"})
        # Unrelated new conversations in between move the rotation on.
        openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"One-off question {turn}"}]
        )
        one_offs.append(_credential_of(fake.generate_requests()[-1]))
    assert len(set(conversation)) == 1, conversation
    assert len(set(one_offs)) == 2, one_offs


def test_cached_tokens_are_in_the_typed_usage(openai_client, fake):
    usage = {
        "promptTokenCount": 2048,
        "candidatesTokenCount": 4,
        "totalTokenCount": 2052,
        "cachedContentTokenCount": 1536,
    }
    fake.enqueue({"text": "From the cache.", "usage": usage})
    answer = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.usage.prompt_tokens == 2048
    assert answer.usage.prompt_tokens_details.cached_tokens == 1536

    fake.enqueue({"chunks": ["From ", "the cache."], "usage": usage})
    stream = openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    usages = [chunk.usage for chunk in stream if chunk.usage is not None]
    assert [u.prompt_tokens_details.cached_tokens for u in usages] == [1536]


def test_a_broken_tool_call_in_the_history_does_not_end_the_conversation(openai_client, fake):
    fake.enqueue({"text": "Tomorrow is sunny too."})
    answer = openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "Weather in Beijing and Shanghai?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city": "Beijing"}{"city": "Shanghai"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"sky": "sunny"}'},
            {"role": "user", "content": "And tomorrow?"},
        ],
    )
    assert answer.choices[0].message.content == "Tomorrow is sunny too."
    parts = [
        part
        for content in fake.generate_requests()[-1]["body"]["request"]["contents"]
        for part in content.get("parts", [])
    ]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    assert calls == [{"id": "call_1", "name": "get_weather", "args": {"city": "Beijing"}}]
    assert [(r["id"], r["name"]) for r in responses] == [("call_1", "get_weather")]
