"""OpenAI SDK: image input as a data URL and as an http URL the gateway fetches itself."""

import base64
import http.server
import struct
import threading
import zlib

import pytest

MODEL = "gemini-2.5-flash"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PNG = _png(4, 3, (200, 30, 60))


@pytest.fixture(scope="module")
def image_server():
    """A loopback server with one PNG; records the paths it was asked for."""
    served: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            if self.path != "/pixel.png":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _image_parts(upstream: dict) -> list[dict]:
    return [
        part
        for content in upstream["body"]["request"]["contents"]
        for part in content.get("parts", [])
        if "inlineData" in part
    ]


def _ask_about(openai_client, url: str) -> str:
    completion = openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What colour is this?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    return completion.choices[0].message.content


def test_image_as_data_url_reaches_google_inline(openai_client, fake):
    fake.enqueue({"text": "Red."})
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()

    assert _ask_about(openai_client, data_url) == "Red."

    [upstream] = fake.generate_requests()
    [image] = _image_parts(upstream)
    assert image["inlineData"]["mimeType"] == "image/png"
    assert base64.b64decode(image["inlineData"]["data"]) == PNG
    texts = [p["text"] for p in upstream["body"]["request"]["contents"][-1]["parts"] if "text" in p]
    assert texts == ["What colour is this?"]


def test_image_by_http_url_is_fetched_and_inlined(openai_client, fake, image_server):
    base, served = image_server
    fake.enqueue({"text": "Still red."})

    assert _ask_about(openai_client, f"{base}/pixel.png") == "Still red."

    assert served == ["/pixel.png"]
    [upstream] = fake.generate_requests()
    [image] = _image_parts(upstream)
    assert image["inlineData"]["mimeType"] == "image/png"
    assert base64.b64decode(image["inlineData"]["data"]) == PNG


def test_unreachable_image_url_is_a_bad_request(openai_client, fake, image_server):
    from openai import BadRequestError

    base, _ = image_server
    with pytest.raises(BadRequestError) as raised:
        _ask_about(openai_client, f"{base}/missing.png")
    assert "missing.png" in str(raised.value)
    assert fake.generate_requests() == []
