"""One small interface per capability a provider may have, with plain DTOs in and out (ARCHITECTURE §7).

Provider packages implement them without a session or an ORM object; the glue in this package stores and routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Capability(StrEnum):
    LEAD_SOURCE = "lead_source"  # delivers leads or messages to /hooks/<provider>/<key>
    MESSAGING = "messaging"  # sends texts and templates to a person
    CONNECTION_TEST = "connection_test"  # can check its credentials against the provider
    CRM_SYNC = "crm_sync"  # receives our people and leads, keyed by our id (connected under /v1/sync/<provider>)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified webhook delivery, parsed: the key that makes it idempotent and the JSON as received."""

    key: str
    body: Any


class Refused(Exception):
    """The provider's delivery is not acceptable; ``status`` is what the provider expects to hear back."""

    def __init__(self, reason: str, *, status: int = 400, kind: str = "schema_violation") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.kind = kind


class LeadSource(Protocol):
    """Inbound: check a delivery's authenticity on the raw bytes before anything parses them, then read it."""

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        """None when the delivery is authentic, else why not (kept with the rejected delivery)."""
        ...

    def read(self, raw: bytes) -> Delivery:
        """The delivery's idempotency key and body; raises :class:`Refused` for a body the provider got wrong."""
        ...


class Handshake(Protocol):
    """A provider that checks the URL before delivering (Meta's GET with ``hub.challenge``)."""

    def answer(self, query: Mapping[str, str]) -> str | None:
        """The body to answer the verification with, or None to refuse it (403)."""
        ...


@dataclass(frozen=True, slots=True)
class SentMessage:
    external_id: str  # the provider's message id (a WhatsApp wamid)
    recipient: str


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    language: str = "pt_BR"
    components: list[dict[str, Any]] = field(default_factory=list)


class Messaging(Protocol):
    async def send_text(self, to: str, text: str) -> SentMessage: ...

    async def send_template(self, to: str, template: Template) -> SentMessage: ...


class ConnectionTest(Protocol):
    async def test(self) -> None:
        """Raise :class:`ProviderError` when the provider refuses the connection's credentials."""
        ...


class ProviderError(Exception):
    """A call to the provider failed (after the client's retries); ``status`` is the provider's, when it answered."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
