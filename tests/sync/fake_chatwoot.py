"""A fake Chatwoot Application API (contracts/README.md §2.2) over real HTTP: ``api_access_token`` auth, contacts
with an external ``identifier`` and one source id per inbox, conversations that need that source id, labels,
assignments, private notes and the agents list."""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer, Received, Reply

TOKEN = "cw-agent-bot-token-0001"
ACCOUNT = 1
AGENTS = [
    {"id": 7, "name": "Ana Corretora", "email": "ana@acme.example.com", "role": "agent"},
    {"id": 8, "name": "Gestor", "email": "gestor@acme.example.com", "role": "administrator"},
]


class FakeChatwoot:
    def __init__(self) -> None:
        self.server = LoopbackServer(self.answer)
        self.contacts: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self._ids = itertools.count(14)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    def calls(self, method: str, pattern: str) -> list[Received]:
        return [r for r in self.server.received if r.method == method and re.fullmatch(pattern, urlsplit(r.path).path)]

    def answer(self, request: Received) -> Reply:
        if request.headers.get("api_access_token") != TOKEN:
            return Reply(401, {"error": "Invalid Access Token"})
        parts = urlsplit(request.path)
        prefix = f"/api/v1/accounts/{ACCOUNT}"
        if not parts.path.startswith(prefix):
            return Reply(404, {"error": "account not found"})
        path = parts.path.removeprefix(prefix)
        body = request.json() if request.body else {}
        with self._lock:
            return self._route(request.method, path, parse_qs(parts.query), body)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> Reply:
        if (method, path) == ("GET", "/agents"):
            return Reply(200, AGENTS)
        if (method, path) == ("POST", "/contacts"):
            return self._create_contact(body)
        if (method, path) == ("GET", "/contacts/search"):
            q = query.get("q", [""])[0]
            found = [c for c in self.contacts.values() if q in (c.get("identifier"), c.get("email"), c.get("name"))]
            return Reply(200, {"meta": {"count": len(found)}, "payload": found})
        if (match := re.fullmatch(r"/contacts/(\d+)", path)) and method == "PUT":
            contact = self.contacts.get(int(match[1]))
            if contact is None:
                return Reply(404, {"error": "Resource could not be found"})
            contact.update(body)
            return Reply(200, {"payload": contact})
        if (match := re.fullmatch(r"/contacts/(\d+)/conversations", path)) and method == "GET":
            cid = int(match[1])
            return Reply(200, {"payload": [c for c in self.conversations.values() if c["contact_id"] == cid]})
        if (match := re.fullmatch(r"/contacts/(\d+)/contact_inboxes", path)) and method == "POST":
            contact = self.contacts[int(match[1])]
            source = contact["inboxes"].setdefault(body["inbox_id"], str(uuid.uuid4()))
            return Reply(200, {"source_id": source, "inbox": {"id": body["inbox_id"]}})
        if (method, path) == ("POST", "/conversations"):
            return self._create_conversation(body)
        if match := re.fullmatch(r"/conversations/(\d+)/(labels|assignments|messages)", path):
            return self._on_conversation(int(match[1]), match[2], body)
        return Reply(404, {"error": "Resource could not be found"})

    def _create_contact(self, body: dict[str, Any]) -> Reply:
        if "inbox_id" not in body:
            return Reply(422, {"message": "inbox_id is required"})
        if any(c.get("identifier") == body.get("identifier") for c in self.contacts.values()):
            return Reply(422, {"message": "Identifier has already been taken"})
        cid = next(self._ids)
        source = str(uuid.uuid4())
        contact = {k: v for k, v in body.items() if k != "inbox_id"} | {
            "id": cid,
            "inboxes": {body["inbox_id"]: source},
        }
        self.contacts[cid] = contact
        return Reply(
            200,
            {
                "payload": {
                    "contact": contact,
                    "contact_inbox": {"inbox": {"id": body["inbox_id"]}, "source_id": source},
                }
            },
        )

    def _create_conversation(self, body: dict[str, Any]) -> Reply:
        contact = self.contacts.get(int(body.get("contact_id", 0)))
        if contact is None or contact["inboxes"].get(body.get("inbox_id")) != body.get("source_id"):
            return Reply(422, {"message": "source_id does not belong to the contact in this inbox"})
        conversation = {
            "id": next(self._ids),
            "inbox_id": body["inbox_id"],
            "contact_id": contact["id"],
            "status": body.get("status", "open"),
            "labels": [],
            "assignee_id": None,
            "custom_attributes": body.get("custom_attributes", {}),
        }
        self.conversations[conversation["id"]] = conversation
        return Reply(200, conversation)

    def _on_conversation(self, conversation_id: int, action: str, body: dict[str, Any]) -> Reply:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return Reply(404, {"error": "Resource could not be found"})
        if action == "labels":
            conversation["labels"] = list(body["labels"])
            return Reply(200, {"payload": conversation["labels"]})
        if action == "assignments":
            agent = next((a for a in AGENTS if a["id"] == body.get("assignee_id")), None)
            if agent is None:
                return Reply(404, {"error": "agent not found"})
            conversation["assignee_id"] = agent["id"]
            return Reply(200, agent)
        message = {"id": next(self._ids), "conversation_id": conversation_id, **body}
        self.notes.append(message)
        return Reply(200, message)
