"""A fake Pipedrive speaking the persons API v2 (contracts/README.md §5.2, a [3P]/[M] contract) over real HTTP:
``x-api-token`` auth, exact search on custom fields, create, update (404 for an unknown person), scripted failures
(429 + Retry-After, 5xx) served first. ``GET /v1/personFields`` lists the person fields (``person_fields``, the
leadflow id field included)."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer, Received, Reply

TOKEN = "0123456789abcdef0123456789abcdef01234567"
ID_FIELD = "a" * 40


class FakePipedrive:
    def __init__(self) -> None:
        self.server = LoopbackServer(self.answer)
        self.failures: deque[Reply] = deque()
        self.persons: dict[str, dict[str, Any]] = {}
        self.person_fields: list[dict[str, Any]] = [
            {"id": 9001, "key": "name", "name": "Name", "field_type": "varchar", "edit_flag": False},
            {"id": 9002, "key": "email", "name": "Email", "field_type": "varchar", "edit_flag": False},
            {"id": 9003, "key": "phone", "name": "Phone", "field_type": "phone", "edit_flag": False},
            {"id": 9051, "key": ID_FIELD, "name": "leadflow id", "field_type": "varchar", "edit_flag": True},
        ]
        self._ids = itertools.count(101)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    def calls(self, method: str, prefix: str = "/api/v2/persons") -> list[Received]:
        return [r for r in self.server.received if r.method == method and r.path.startswith(prefix)]

    def answer(self, request: Received) -> Reply:
        if request.headers.get("x-api-token") != TOKEN:
            return Reply(401, {"success": False, "error": "unauthorized access", "errorCode": 401})
        if self.failures:
            return self.failures.popleft()
        parts = urlsplit(request.path)
        with self._lock:
            if request.method == "GET" and parts.path == "/v1/personFields":
                pagination = {"start": 0, "limit": 500, "more_items_in_collection": False}
                body = {"success": True, "data": self.person_fields, "additional_data": {"pagination": pagination}}
                return Reply(200, body)
            if request.method == "GET" and parts.path == "/api/v2/persons/search":
                return self._search(parse_qs(parts.query))
            if request.method == "POST" and parts.path == "/api/v2/persons":
                return self._create(request.json())
            if request.method == "PATCH" and parts.path.startswith("/api/v2/persons/"):
                return self._update(parts.path.rsplit("/", 1)[1], request.json())
        return Reply(404, {"success": False, "error": "Unknown method ."})

    def _search(self, query: dict[str, list[str]]) -> Reply:
        term = query.get("term", [""])[0]
        if query.get("fields") != ["custom_fields"] or query.get("exact_match") != ["true"]:
            return Reply(400, {"success": False, "error": "this fake only searches custom fields exactly"})
        items = [
            {"result_score": 1.0, "item": {"id": int(pid), "name": person["name"]}}
            for pid, person in self.persons.items()
            if term in (person.get("custom_fields") or {}).values()
        ]
        return Reply(200, {"success": True, "data": {"items": items}, "additional_data": {"next_cursor": None}})

    def _create(self, body: dict[str, Any]) -> Reply:
        pid = str(next(self._ids))
        self.persons[pid] = {**body, "id": int(pid)}
        return Reply(200, {"success": True, "data": self.persons[pid]})

    def _update(self, pid: str, body: dict[str, Any]) -> Reply:
        if pid not in self.persons:
            return Reply(404, {"success": False, "error": "Person not found", "errorCode": 404})
        custom = {**self.persons[pid].get("custom_fields", {}), **body.pop("custom_fields", {})}
        self.persons[pid].update({**body, "custom_fields": custom})
        return Reply(200, {"success": True, "data": self.persons[pid]})
