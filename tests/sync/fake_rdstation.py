"""A fake RD Station CRM speaking the contacts API v1 as the contract describes it (contracts/README.md §5.4,
endpoints and payloads [M]) over real HTTP: the ``token`` query parameter (401 otherwise), ``GET
/api/v1/contacts?q=`` searching names, e-mails, phones and custom field values, ``POST /api/v1/contacts`` and
``PUT /api/v1/contacts/{id}`` with ``{"contact": {...}}`` (404 for an unknown contact, 422 without a name).
Scripted failures (429 + Retry-After, 5xx, malformed bodies) are served before the real answer; ``after_write``
replies are served after the write happened (RD created the contact, then answered 500). ``GET
/api/v1/custom_fields`` lists the account's custom fields (``custom_fields``, the leadflow id field included) [M].
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer, Received, Reply

TOKEN = "rd-crm-token-0123456789abcdef"
ID_FIELD = "64b7f0c2a1b2c3d4e5f60718"
CONTACTS = "/api/v1/contacts"


class FakeRdStation:
    def __init__(self, token: str = TOKEN) -> None:
        self.server = LoopbackServer(self.answer)
        self.token = token
        self.failures: deque[Reply] = deque()
        self.after_write: deque[Reply] = deque()
        self.contacts: dict[str, dict[str, Any]] = {}
        self.custom_fields: list[dict[str, Any]] = [
            {"_id": ID_FIELD, "id": ID_FIELD, "label": "leadflow id", "type": "text", "for": "contact"},
            {"_id": "64b7f0c2a1b2c3d4e5f60799", "id": "64b7f0c2a1b2c3d4e5f60799", "label": "Renda", "for": "deal"},
        ]
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    def calls(self, method: str, prefix: str = CONTACTS) -> list[Received]:
        return [r for r in self.server.received if r.method == method and urlsplit(r.path).path.startswith(prefix)]

    def add(self, contact: dict[str, Any]) -> str:
        """A contact made in RD Station by someone else."""
        cid = f"{0x64B7F0C2A1B2C3D4E5F60000 + next(self._ids):024x}"
        self.contacts[cid] = {**contact, "_id": cid, "id": cid}
        return cid

    def answer(self, request: Received) -> Reply:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if query.get("token") != [self.token]:
            return Reply(401, {"errors": "Unauthorized: invalid token"})
        if self.failures:
            return self.failures.popleft()
        with self._lock:
            reply = self._route(request, parts.path, query)
            if request.method in ("POST", "PUT") and reply.status < 300 and self.after_write:
                return self.after_write.popleft()
            return reply

    def _route(self, request: Received, path: str, query: dict[str, list[str]]) -> Reply:
        if request.method == "GET" and path == CONTACTS:
            return self._search(query)
        if request.method == "GET" and path == "/api/v1/custom_fields":
            wanted = query.get("for", [None])[0]
            fields = [f for f in self.custom_fields if wanted in (None, f["for"])]
            return Reply(200, {"total": len(fields), "custom_fields": fields})
        if request.method == "POST" and path == CONTACTS:
            return self._create(request)
        if request.method == "PUT" and path.startswith(CONTACTS + "/"):
            return self._update(path.rsplit("/", 1)[1], request)
        return Reply(404, {"errors": "Not found"})

    def _search(self, query: dict[str, list[str]]) -> Reply:
        term = query.get("q", [""])[0].casefold()
        limit = min(int(query.get("limit", ["20"])[0]), 200)
        found = [contact for contact in self.contacts.values() if term in _searchable(contact)]
        return Reply(200, {"contacts": found[:limit], "total": len(found), "has_more": len(found) > limit})

    def _create(self, request: Received) -> Reply:
        contact = _contact_of(request)
        if contact is None or not contact.get("name"):
            return Reply(422, {"errors": {"name": ["não pode ficar em branco"]}})
        cid = self.add(contact)
        return Reply(200, self.contacts[cid])

    def _update(self, cid: str, request: Received) -> Reply:
        if cid not in self.contacts:
            return Reply(404, {"errors": "Contato não encontrado"})
        contact = _contact_of(request)
        if contact is None:
            return Reply(422, {"errors": {"contact": ["inválido"]}})
        known = self.contacts[cid]
        customs = {c["custom_field_id"]: c for c in known.get("contact_custom_fields", [])}
        customs.update({c["custom_field_id"]: c for c in contact.pop("contact_custom_fields", [])})
        known.update({**contact, "contact_custom_fields": list(customs.values())})
        return Reply(200, known)


def _contact_of(request: Received) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    contact = body.get("contact") if isinstance(body, dict) else None
    return dict(contact) if isinstance(contact, dict) else None


def _searchable(contact: dict[str, Any]) -> str:
    parts = [str(contact.get("name", ""))]
    parts += [str(e.get("email", "")) for e in contact.get("emails", [])]
    parts += [str(p.get("phone", "")) for p in contact.get("phones", [])]
    parts += [str(c.get("value", "")) for c in contact.get("contact_custom_fields", [])]
    return "\n".join(parts).casefold()
