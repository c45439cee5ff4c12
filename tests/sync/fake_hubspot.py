"""A fake HubSpot speaking the contacts batch-upsert contract (contracts/README.md §5.1) over real HTTP.

Bearer auth (401 ``INVALID_AUTHENTICATION`` otherwise), at most 100 inputs (400 ``VALIDATION_ERROR``), contacts
kept by the unique id property, ``new`` true only on creation, ``objectWriteTraceId`` echoed, a 207 with
``errors`` for inputs it refuses (an e-mail without "@"), and scripted failures (429 + Retry-After, 5xx) served
before the real answer. ``GET /crm/v3/properties/contacts/{name}`` reads one contact property (404
``OBJECT_NOT_FOUND`` for an unknown one); ``properties`` holds the portal's, ``leadflow_id`` with unique values.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any

from tests.loopback import LoopbackServer, Received, Reply

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
PROPERTY = "/crm/v3/properties/contacts/"


def _error(status: int, category: str, message: str) -> Reply:
    return Reply(
        status,
        {
            "status": "error",
            "message": message,
            "correlationId": "c0ffee00-0000-4000-8000-000000000000",
            "category": category,
        },
    )


class FakeHubSpot:
    def __init__(self) -> None:
        self.server = LoopbackServer(self.answer)
        self.failures: deque[Reply] = deque()
        self.contacts: dict[str, dict[str, Any]] = {}  # id property value -> {"id", "properties"}
        self.properties: dict[str, dict[str, Any]] = {
            name: {"name": name, "label": name, "type": "string", "fieldType": "text", "groupName": "contactinfo",
                   "hasUniqueValue": name == "leadflow_id", "hidden": False, "formField": False}
            for name in ("email", "firstname", "lastname", "phone", "leadflow_id")
        }  # fmt: skip
        self._ids = itertools.count(51)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def upserts(self) -> list[Received]:
        return [r for r in self.server.received if r.path == UPSERT]

    def answer(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if self.failures:
            return self.failures.popleft()
        if request.method == "GET" and request.path.startswith(PROPERTY):
            return self._property(request.path.removeprefix(PROPERTY))
        if request.method != "POST" or request.path != UPSERT:
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        inputs = request.json().get("inputs", [])
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "Batch size exceeds 100")
        with self._lock:
            return self._upsert(inputs)

    def _property(self, name: str) -> Reply:
        if name not in self.properties:
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type contact")
        return Reply(200, self.properties[name])

    def _upsert(self, inputs: list[dict[str, Any]]) -> Reply:
        results, errors = [], []
        for item in inputs:
            properties = dict(item.get("properties") or {})
            if "@" not in properties.get("email", "@"):
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"Property values were not valid: email {properties['email']!r}",
                        "context": {"objectWriteTraceId": [item.get("objectWriteTraceId")]},
                    }
                )
                continue
            key = str(item["id"])
            known = self.contacts.get(key)
            new = known is None
            if known is None:
                known = self.contacts[key] = {"id": str(next(self._ids)), "properties": {}}
            known["properties"].update({**properties, item["idProperty"]: key})
            results.append(
                {
                    "id": known["id"],
                    "new": new,
                    "properties": dict(known["properties"]),
                    "createdAt": "2026-05-04T13:30:00.000Z",
                    "updatedAt": "2026-05-04T13:30:00.000Z",
                    "archived": False,
                    "objectWriteTraceId": item.get("objectWriteTraceId"),
                }
            )
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-05-04T13:30:00.000Z",
            "completedAt": "2026-05-04T13:30:00.100Z",
        }
        if errors:
            body.update(errors=errors, numErrors=len(errors))
        return Reply(207 if errors else 200, body)
