"""A fake of Meta's Graph API as a real HTTP server on 127.0.0.1 (contracts §3): bearer auth (401 with Meta's
error body otherwise), the WhatsApp send and media endpoints, Lead Ads lead lookup, and scripted failures
(429 with Retry-After, 5xx, malformed bodies) served before the normal answer."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Scripted:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeGraph:
    def __init__(self, *, token: str = "graph-token", version: str = "v21.0") -> None:
        self.token = token
        self.version = version
        self.requests: list[Seen] = []
        self.script: deque[Scripted] = deque()
        self.leads: dict[str, dict[str, Any]] = {}
        self._sent = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, body: bytes | dict[str, Any] = b"", headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self.script.append(Scripted(status, raw, headers or {}))

    def sent_messages(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")]

    # The server

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.requests.append(Seen(method, handler.path, dict(handler.headers.items()), body))
        if self.script:
            scripted = self.script.popleft()
            return _answer(handler, scripted.status, scripted.body, scripted.headers)
        if handler.headers.get("authorization") != f"Bearer {self.token}":
            error = {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
            return _answer(handler, 401, json.dumps(error).encode())
        status, payload, content_type = self._route(method, handler.path.split("?")[0], body)
        return _answer(handler, status, payload, {"content-type": content_type})

    def _route(self, method: str, path: str, body: Any) -> tuple[int, bytes, str]:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["media-files"]:
            return 200, PNG, "image/png"
        if not parts or parts[0] != self.version:
            return 404, b'{"error":{"message":"Unknown path"}}', "application/json"
        if method == "POST" and len(parts) == 3 and parts[2] == "messages":
            return 200, json.dumps(self._send(body)).encode(), "application/json"
        if method == "GET" and len(parts) == 2:
            return self._lookup(parts[1])
        return 404, b'{"error":{"message":"Unknown path"}}', "application/json"

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        self._sent += 1
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.FAKE{self._sent:06d}"}],
        }

    def _lookup(self, object_id: str) -> tuple[int, bytes, str]:
        if object_id in self.leads:
            return 200, json.dumps(self.leads[object_id]).encode(), "application/json"
        if object_id.startswith("media"):
            meta = {
                "url": f"{self.base_url}/media-files/{object_id}",
                "mime_type": "image/png",
                "id": object_id,
                "file_size": len(PNG),
            }
            return 200, json.dumps(meta).encode(), "application/json"
        return 200, json.dumps({"id": object_id, "display_phone_number": "551140028922"}).encode(), "application/json"


def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if not any(name.lower() == "content-type" for name in headers or {}):
        handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
