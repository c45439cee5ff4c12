"""Chatwoot Application API, outbound (contracts/README.md §2.2; paths and bodies [V] for contacts and
conversations, [M] for search, assignments, messages and agents: parsing is tolerant).

A tenant types its Chatwoot's base URL, so every call goes through the SSRF-guarded client. Auth is the
``api_access_token`` header. :meth:`ChatwootClient.hand_over` does the whole lead hand-over: create or update the
contact (``identifier`` = our person id), open or reuse the conversation in the tenant's inbox, label it, assign
it to the broker's agent (found by e-mail) and add a private note with the lead's context.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from leadflow.integrations.base import ProviderError
from leadflow.kit.http import (
    RetryPolicy,
    Sleep,
    SsrfPolicy,
    guarded_client,
    is_retryable_status,
    parse_retry_after,
    send_with_retries,
)


@dataclass(frozen=True, slots=True)
class ChatHandOver:
    """What Chatwoot should know about a lead (a DTO: no ORM object crosses into the client)."""

    identifier: str  # our person id: Chatwoot's "unique identifier in an external system"
    name: str
    email: str | None = None
    phone: str | None = None  # E.164
    custom_attributes: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    agent_email: str | None = None  # the broker's, to find their Chatwoot agent
    note: str | None = None  # private note: lead context and routing explanation


@dataclass(frozen=True, slots=True)
class ChatRefs:
    contact_id: str
    conversation_id: str
    assignee_id: str | None


class ChatwootError(ProviderError):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retryable = retryable


class ChatwootClient:
    def __init__(
        self,
        base_url: str,
        account_id: int,
        api_token: str,
        *,
        policy: SsrfPolicy,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = f"/api/v1/accounts/{account_id}"
        self._token = api_token
        self.policy = policy
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout

    async def hand_over(self, lead: ChatHandOver, *, inbox_id: int, contact_id: str | None = None) -> ChatRefs:
        """Idempotent: a known contact (``contact_id``, else found by identifier) is updated, an open conversation
        of the contact in the inbox is reused."""
        contact_id, source_id = await self._contact(lead, inbox_id, contact_id)
        conversation_id = await self._conversation(contact_id, source_id, inbox_id, lead)
        if lead.labels:
            await self._call("POST", f"/conversations/{conversation_id}/labels", json={"labels": lead.labels})
        assignee = await self.agent_id_for(lead.agent_email) if lead.agent_email else None
        if assignee is not None:
            await self._call(
                "POST", f"/conversations/{conversation_id}/assignments", json={"assignee_id": int(assignee)}
            )
        if lead.note:
            note = {"content": lead.note, "message_type": "outgoing", "private": True}
            await self._call("POST", f"/conversations/{conversation_id}/messages", json=note)
        return ChatRefs(contact_id=contact_id, conversation_id=conversation_id, assignee_id=assignee)

    async def agent_id_for(self, email: str) -> str | None:
        agents = await self._call("GET", "/agents")
        for agent in agents if isinstance(agents, list) else []:
            if isinstance(agent, dict) and str(agent.get("email", "")).lower() == email.lower():
                return str(agent["id"])
        return None

    async def _contact(self, lead: ChatHandOver, inbox_id: int, known_id: str | None) -> tuple[str, str | None]:
        body: dict[str, Any] = {"name": lead.name, "identifier": lead.identifier}
        if lead.email:
            body["email"] = lead.email
        if lead.phone:
            body["phone_number"] = lead.phone
        if lead.custom_attributes:
            body["custom_attributes"] = lead.custom_attributes
        if known_id is not None and await self._update_contact(known_id, body):
            return known_id, None
        contact_id = await self._find_contact(lead.identifier)
        if contact_id is not None and await self._update_contact(contact_id, body):
            return contact_id, None
        created = await self._call("POST", "/contacts", json={**body, "inbox_id": inbox_id})
        payload = (created or {}).get("payload", created) if isinstance(created, dict) else {}
        contact = payload.get("contact", payload) if isinstance(payload, dict) else {}
        inbox = payload.get("contact_inbox") or {} if isinstance(payload, dict) else {}
        if not isinstance(contact, dict) or contact.get("id") is None:
            raise ChatwootError("Chatwoot created a contact without an id")
        return str(contact["id"]), inbox.get("source_id") if isinstance(inbox, dict) else None

    async def _update_contact(self, contact_id: str, body: dict[str, Any]) -> bool:
        """False when Chatwoot no longer has the contact (deleted there)."""
        try:
            await self._call("PUT", f"/contacts/{contact_id}", json=body)
        except ChatwootError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def _find_contact(self, identifier: str) -> str | None:
        found = await self._call("GET", "/contacts/search", params={"q": identifier})
        contacts = found.get("payload", []) if isinstance(found, dict) else []
        for contact in contacts if isinstance(contacts, list) else []:
            if isinstance(contact, dict) and contact.get("identifier") == identifier:
                return str(contact["id"])
        return None

    async def _conversation(self, contact_id: str, source_id: str | None, inbox_id: int, lead: ChatHandOver) -> str:
        listed = await self._call("GET", f"/contacts/{contact_id}/conversations")
        conversations = listed.get("payload", []) if isinstance(listed, dict) else []
        for conversation in conversations if isinstance(conversations, list) else []:
            if not isinstance(conversation, dict):
                continue
            same_inbox = conversation.get("inbox_id") == inbox_id
            if same_inbox and conversation.get("status") in ("open", "pending"):
                return str(conversation["id"])
        if source_id is None:
            joined = await self._call("POST", f"/contacts/{contact_id}/contact_inboxes", json={"inbox_id": inbox_id})
            source_id = joined.get("source_id") if isinstance(joined, dict) else None
        if not source_id:
            raise ChatwootError("Chatwoot gave no source id for the contact in this inbox")
        body: dict[str, Any] = {
            "source_id": source_id,
            "inbox_id": inbox_id,
            "contact_id": int(contact_id),
            "status": "open",
        }
        if lead.custom_attributes:
            body["custom_attributes"] = lead.custom_attributes
        created = await self._call("POST", "/conversations", json=body)
        if not isinstance(created, dict) or created.get("id") is None:
            raise ChatwootError("Chatwoot created a conversation without an id")
        return str(created["id"])

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"api_access_token": self._token, "Accept": "application/json"}
        async with guarded_client(self.policy, base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            try:
                response = await send_with_retries(
                    client, method, self.prefix + path, policy=self.retry, sleep=self.sleep, **kwargs
                )
            except httpx.TimeoutException as exc:
                raise ChatwootError("Chatwoot did not answer in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise ChatwootError(f"Chatwoot unreachable: {type(exc).__name__}: {exc}"[:300]) from exc
        if response.status_code >= 400:
            raise ChatwootError(
                f"Chatwoot answered HTTP {response.status_code} to {method} {path}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                retryable=is_retryable_status(response.status_code),
            )
        try:
            return response.json()
        except ValueError:
            return None
