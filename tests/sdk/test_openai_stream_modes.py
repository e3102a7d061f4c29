"""OpenAI SDK: fake streaming (`假流式/`) and anti-truncation (`流式抗截断/`) model prefixes."""

import json

from conftest import HEARTBEAT_SECONDS

BASE = "gemini-2.5-flash"


def _collect(stream) -> tuple[list, str, list[str]]:
    chunks, text, finishes = [], "", []
    for chunk in stream:
        chunks.append(chunk)
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
    return chunks, text, finishes


def test_fake_streaming_sends_heartbeats_then_the_whole_answer(openai_client, fake):
    # Google answers only after several heartbeat intervals.
    delay_ms = int(HEARTBEAT_SECONDS * 1000 * 5)
    fake.enqueue({"text": "The whole answer at once.", "delay_ms": delay_ms})

    stream = openai_client.chat.completions.create(
        model=f"假流式/{BASE}",
        messages=[{"role": "user", "content": "Take your time."}],
        stream=True,
    )
    chunks, text, finishes = _collect(stream)

    assert text == "The whole answer at once."
    assert finishes == ["stop"]
    heartbeats = [
        c for c in chunks if c.choices and not c.choices[0].delta.content and not c.choices[0].finish_reason
    ]
    assert len(heartbeats) >= 2
    # Every heartbeat precedes the answer.
    first_text = next(i for i, c in enumerate(chunks) if c.choices and c.choices[0].delta.content)
    assert all(chunks.index(h) < first_text for h in heartbeats)
    assert len({c.id for c in chunks}) == 1

    # Fake streaming makes one non-streaming call upstream.
    [upstream] = fake.generate_requests()
    assert upstream["path"] == "/v1internal:generateContent"
    assert upstream["model"] == BASE


def test_anti_truncation_continues_until_the_done_marker(openai_client, fake):
    fake.enqueue({"chunks": ["First part, ", "cut short"]})
    fake.enqueue({"chunks": [" and the second part.", "\n[done]"]})

    stream = openai_client.chat.completions.create(
        model=f"流式抗截断/{BASE}",
        messages=[{"role": "user", "content": "Write two parts."}],
        stream=True,
    )
    _, text, finishes = _collect(stream)

    assert "[done]" not in text.lower()
    assert text.rstrip() == "First part, cut short and the second part."
    assert text.count("First part") == 1 and text.count("second part") == 1
    assert finishes == ["stop"]

    first, second = fake.generate_requests()
    assert first["path"] == second["path"] == "/v1internal:streamGenerateContent"
    assert first["model"] == second["model"] == BASE
    # The model is told about the marker, and the continuation carries what was already written.
    assert "[done]" in json.dumps(first["body"]["request"]["systemInstruction"], ensure_ascii=False)
    assert "First part, cut short" in json.dumps(second["body"]["request"]["contents"], ensure_ascii=False)


def test_anti_truncation_single_attempt_when_marker_present(openai_client, fake):
    fake.enqueue({"chunks": ["Complete answer.", "\n[done]"]})

    stream = openai_client.chat.completions.create(
        model=f"流式抗截断/{BASE}",
        messages=[{"role": "user", "content": "Short answer."}],
        stream=True,
    )
    _, text, finishes = _collect(stream)

    assert text.rstrip() == "Complete answer."
    assert finishes == ["stop"]
    assert len(fake.generate_requests()) == 1
