"""Chatwoot outbound hand-over against a fake Chatwoot over real HTTP: contact by our id, conversation opened or
reused in the inbox, labels, assignment to the broker's agent, private note; the tenant-typed base URL passes
the SSRF guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadflow.integrations.chatwoot.client import ChatHandOver, ChatwootClient, ChatwootError
from leadflow.kit.http import RetryPolicy, SsrfPolicy
from tests.sync.fake_chatwoot import ACCOUNT, TOKEN, FakeChatwoot

INBOX = 3
LOOPBACK_OK = SsrfPolicy(allow_loopback=True)


@pytest.fixture
def chatwoot() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


def client_for(chatwoot: FakeChatwoot, *, token: str = TOKEN, policy: SsrfPolicy = LOOPBACK_OK) -> ChatwootClient:
    return ChatwootClient(chatwoot.url, ACCOUNT, token, policy=policy, retry=RetryPolicy(attempts=1))


def lead(**changes: object) -> ChatHandOver:
    fields: dict[str, object] = {
        "identifier": "01a2-person",
        "name": "Maria Silva",
        "email": "maria@example.com",
        "phone": "+5511987654321",
        "custom_attributes": {"utm_source": "facebook", "lead_url": "https://acme.leadflow.dev/app/leads/1"},
        "labels": ["portal-zap", "quente"],
        "agent_email": "ana@acme.example.com",
        "note": "Lead do Residencial Aurora. Roleta: Ana (próxima da fila, 2 leads hoje).",
    }
    return ChatHandOver(**{**fields, **changes})  # type: ignore[arg-type]


class TestHandOver:
    async def test_creates_the_contact_and_an_assigned_conversation_with_a_private_note(
        self, chatwoot: FakeChatwoot
    ) -> None:
        refs = await client_for(chatwoot).hand_over(lead(), inbox_id=INBOX)
        contact = chatwoot.contacts[int(refs.contact_id)]
        assert (contact["identifier"], contact["phone_number"], contact["email"]) == (
            "01a2-person",
            "+5511987654321",
            "maria@example.com",
        )
        conversation = chatwoot.conversations[int(refs.conversation_id)]
        assert (conversation["inbox_id"], conversation["status"]) == (INBOX, "open")
        assert conversation["labels"] == ["portal-zap", "quente"]
        assert conversation["assignee_id"] == 7
        assert refs.assignee_id == "7"
        [note] = chatwoot.notes
        assert note["private"] is True
        assert "Roleta" in note["content"]

    async def test_a_second_hand_over_updates_the_contact_and_reuses_the_open_conversation(
        self, chatwoot: FakeChatwoot
    ) -> None:
        client = client_for(chatwoot)
        first = await client.hand_over(lead(), inbox_id=INBOX)
        second = await client.hand_over(lead(name="Maria Clara Silva"), inbox_id=INBOX)
        assert second.conversation_id == first.conversation_id
        assert second.contact_id == first.contact_id
        assert len(chatwoot.contacts) == 1
        assert len(chatwoot.conversations) == 1
        assert chatwoot.contacts[int(first.contact_id)]["name"] == "Maria Clara Silva"
        assert len(chatwoot.calls("POST", r".*/conversations")) == 1

    async def test_a_resolved_conversation_is_not_reused(self, chatwoot: FakeChatwoot) -> None:
        client = client_for(chatwoot)
        first = await client.hand_over(lead(), inbox_id=INBOX)
        chatwoot.conversations[int(first.conversation_id)]["status"] = "resolved"
        second = await client.hand_over(lead(), inbox_id=INBOX, contact_id=first.contact_id)
        assert second.conversation_id != first.conversation_id
        assert chatwoot.conversations[int(second.conversation_id)]["status"] == "open"

    async def test_an_existing_contact_gets_a_conversation_in_another_inbox(self, chatwoot: FakeChatwoot) -> None:
        client = client_for(chatwoot)
        first = await client.hand_over(lead(), inbox_id=INBOX)
        other = await client.hand_over(lead(), inbox_id=9)
        assert other.contact_id == first.contact_id
        assert chatwoot.conversations[int(other.conversation_id)]["inbox_id"] == 9

    async def test_a_contact_deleted_in_chatwoot_is_created_again(self, chatwoot: FakeChatwoot) -> None:
        client = client_for(chatwoot)
        first = await client.hand_over(lead(), inbox_id=INBOX)
        chatwoot.contacts.clear()
        chatwoot.conversations.clear()
        second = await client.hand_over(lead(), inbox_id=INBOX, contact_id=first.contact_id)
        assert second.contact_id != first.contact_id
        assert int(second.contact_id) in chatwoot.contacts

    async def test_a_broker_without_an_agent_leaves_the_conversation_unassigned(self, chatwoot: FakeChatwoot) -> None:
        refs = await client_for(chatwoot).hand_over(lead(agent_email="novo@acme.example.com"), inbox_id=INBOX)
        assert refs.assignee_id is None
        assert chatwoot.calls("POST", r".*/assignments") == []

    async def test_a_bad_token_is_a_final_error(self, chatwoot: FakeChatwoot) -> None:
        with pytest.raises(ChatwootError) as failed:
            await client_for(chatwoot, token="wrong").hand_over(lead(), inbox_id=INBOX)
        assert (failed.value.status, failed.value.retryable) == (401, False)

    async def test_a_private_base_url_is_refused_without_sending(self, chatwoot: FakeChatwoot) -> None:
        with pytest.raises(ChatwootError, match="not allowed"):
            await client_for(chatwoot, policy=SsrfPolicy()).hand_over(lead(), inbox_id=INBOX)
        assert chatwoot.server.received == []
