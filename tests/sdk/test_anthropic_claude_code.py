"""The official `anthropic` SDK sending what newer Claude Code releases send: `tool_reference` blocks in a
tool result, a `compaction` block in an assistant turn, a mid-conversation system message,
`fallbacks: "default"`, adaptive thinking with an effort, and the `X-Claude-Code-Session-Id` header."""

import anthropic
import pytest

MODEL = "claude-sonnet-4-5"
SESSION = "5b0c7a52-6d1e-4f3a-9c2b-8e7d6f5a4b3c"


@pytest.fixture
def client(stack, fake):
    client = anthropic.Anthropic(
        api_key=stack.password, base_url=stack.gateway_url, max_retries=0, timeout=30
    )
    yield client
    client.close()


def history() -> list[dict]:
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "compaction", "content": "Earlier: the user moved the config to TOML."}
            ],
        },
        {"role": "user", "content": "Which files still read the old JSON config?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_search", "name": "ToolSearch", "input": {"query": "grep"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_search",
                    "content": [{"type": "tool_reference", "tool_name": "Grep"}],
                }
            ],
        },
        {"role": "system", "content": "The user is in plan mode."},
        {"role": "user", "content": "Go on."},
    ]


TOOLS = [
    {"name": "ToolSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
    {
        "name": "Grep",
        "input_schema": {"type": "object", "properties": {"pattern": {"type": "string"}}},
        "defer_loading": True,
    },
]


def sent_texts(request: dict) -> list[str]:
    texts = []
    for content in request["contents"]:
        for part in content["parts"]:
            if "text" in part:
                texts.append(part["text"])
            result = part.get("functionResponse", {}).get("response", {}).get("result")
            if result:
                texts.append(result)
    return texts


def index_of(texts: list[str], needle: str) -> int:
    return next(i for i, text in enumerate(texts) if needle in text)


@pytest.mark.parametrize("stream", [False, True])
def test_claude_code_blocks_fields_and_header(client, fake, stream):
    fake.enqueue({"text": "Grep is loaded."})
    params = dict(
        model=MODEL,
        max_tokens=1024,
        system="You are Claude Code.",
        tools=TOOLS,
        messages=history(),
        extra_headers={
            "X-Claude-Code-Session-Id": SESSION,
            "anthropic-beta": "compact-2026-01-12,server-side-fallback-2026-07-01",
        },
        extra_body={
            "fallbacks": "default",
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "xhigh"},
        },
    )
    if stream:
        with client.messages.stream(**params) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**params)
    assert message.content[-1].text == "Grep is loaded."
    sent = fake.generate_requests()[-1]["body"]
    request = sent["request"]
    texts = sent_texts(request)
    order = [
        index_of(texts, "moved the config to TOML"),
        index_of(texts, "old JSON config"),
        index_of(texts, "Tool Grep is now available."),
        index_of(texts, "plan mode"),
        index_of(texts, "Go on."),
    ]
    assert order == sorted(order), texts
    assert request["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 32768
    assert len(request["session_id"]) == 36
    declared = [d["name"] for d in request["tools"][0]["functionDeclarations"]]
    assert "Grep" in declared


def test_the_session_id_is_the_same_on_the_next_turn(client, fake):
    def turn(messages: list[dict]) -> str:
        client.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=messages,
            extra_headers={"X-Claude-Code-Session-Id": SESSION},
        )
        return fake.generate_requests()[-1]["body"]["request"]["session_id"]

    first = turn([{"role": "user", "content": "hi"}])
    second = turn(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "and now?"},
        ]
    )
    assert first == second


def test_an_unknown_block_is_a_bad_request(client, fake):
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "hologram"}]}],
        )
    assert "hologram" in str(raised.value)
    assert fake.generate_requests() == []
