"""Interactions: logging contacts, the lead's first response, lists, and who may see, change and delete them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Lead, Tenant, User
from tests import factories
from tests.activity.factories import make_interaction, reload


def _call(lead: Lead, **fields: Any) -> dict[str, Any]:
    return {"lead_id": str(lead.id), "channel": "call", "direction": "outbound", "outcome": "atendeu", **fields}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class TestFirstResponse:
    async def test_the_first_outbound_interaction_sets_first_responded_at(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        answered_at = (utcnow() - timedelta(minutes=30)).replace(microsecond=0)
        response = await as_broker.post("/v1/interactions", json=_call(lead, occurred_at=_iso(answered_at)))
        assert response.status_code == 201, response.text
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at == answered_at

    async def test_a_later_outbound_interaction_keeps_the_first_response(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        first = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
        await as_broker.post("/v1/interactions", json=_call(lead, occurred_at=_iso(first)))
        later = await as_broker.post("/v1/interactions", json=_call(lead, channel="whatsapp"))
        assert later.status_code == 201
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at == first

    async def test_an_inbound_interaction_is_not_a_response(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        response = await as_broker.post("/v1/interactions", json=_call(lead, direction="inbound"))
        assert response.status_code == 201
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at is None

    async def test_an_internal_note_is_not_a_response(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        await as_broker.post("/v1/interactions", json=_call(lead, channel="note", direction="internal"))
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at is None

    async def test_correcting_an_inbound_interaction_to_outbound_makes_it_the_response(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        created = (await as_broker.post("/v1/interactions", json=_call(lead, direction="inbound"))).json()
        response = await as_broker.patch(f"/v1/interactions/{created['id']}", json={"direction": "outbound"})
        assert response.status_code == 200
        responded = (await reload(db, tenant, Lead, lead.id)).first_responded_at
        assert responded == datetime.fromisoformat(created["occurred_at"])


class TestLoggingAnInteraction:
    async def test_a_lead_alone_brings_its_person_and_the_actor_is_the_author(
        self, as_broker: httpx.AsyncClient, lead: Lead, broker: User
    ) -> None:
        body = (await as_broker.post("/v1/interactions", json=_call(lead, body="Cliente pediu fotos."))).json()
        assert body["person_id"] == str(lead.person_id)
        assert body["author_id"] == str(broker.id)
        assert body["body"] == "Cliente pediu fotos."

    async def test_the_moment_defaults_to_now(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        body = (await as_broker.post("/v1/interactions", json=_call(lead))).json()
        assert abs(datetime.fromisoformat(body["occurred_at"]) - utcnow()) < timedelta(minutes=1)

    async def test_a_person_alone_is_enough(self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        person = await factories.make_person(db, tenant, name="João Souza")
        payload = {"person_id": str(person.id), "channel": "email", "direction": "inbound", "subject": "Dúvida"}
        response = await as_broker.post("/v1/interactions", json=payload)
        assert response.status_code == 201
        assert response.json()["lead_id"] is None

    async def test_neither_lead_nor_person_is_a_422_naming_lead_id(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/interactions", json={"channel": "call", "direction": "outbound"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "lead_id"

    async def test_a_person_who_is_not_the_leads_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        stranger = await factories.make_person(db, tenant, name="Outra Pessoa")
        response = await as_broker.post("/v1/interactions", json=_call(lead, person_id=str(stranger.id)))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "person_id"

    async def test_a_moment_more_than_five_minutes_ahead_is_refused(
        self, as_broker: httpx.AsyncClient, lead: Lead
    ) -> None:
        ahead = utcnow() + timedelta(minutes=10)
        response = await as_broker.post("/v1/interactions", json=_call(lead, occurred_at=_iso(ahead)))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "occurred_at"

    async def test_a_phone_clock_a_little_fast_is_tolerated(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        ahead = utcnow() + timedelta(minutes=2)
        assert (await as_broker.post("/v1/interactions", json=_call(lead, occurred_at=_iso(ahead)))).status_code == 201

    async def test_a_moment_without_a_time_zone_is_refused(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        response = await as_broker.post("/v1/interactions", json=_call(lead, occurred_at="2026-01-10T10:00:00"))
        assert response.status_code == 422

    async def test_an_unknown_channel_is_refused(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        response = await as_broker.post("/v1/interactions", json=_call(lead, channel="pombo-correio"))
        assert response.status_code == 422


class TestListingInteractions:
    async def test_filters_combine_and_the_newest_comes_first(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        now = utcnow()
        old = await make_interaction(db, tenant, lead, occurred_at=now - timedelta(days=3))
        recent = await make_interaction(db, tenant, lead, occurred_at=now - timedelta(hours=1))
        await make_interaction(db, tenant, lead, channel="call", direction="outbound")
        params = {"lead_id": str(lead.id), "channel": "whatsapp", "direction": "inbound"}
        items = (await as_broker.get("/v1/interactions", params=params)).json()["items"]
        assert [i["id"] for i in items] == [str(recent.id), str(old.id)]
        since = {**params, "since": _iso(now - timedelta(days=1))}
        assert [i["id"] for i in (await as_broker.get("/v1/interactions", params=since)).json()["items"]] == [
            str(recent.id)
        ]
        until = {**params, "until": _iso(now - timedelta(days=1))}
        assert [i["id"] for i in (await as_broker.get("/v1/interactions", params=until)).json()["items"]] == [
            str(old.id)
        ]

    async def test_pages_follow_the_cursor_without_repeating(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        same_moment = utcnow() - timedelta(hours=1)
        created = {str((await make_interaction(db, tenant, lead, occurred_at=same_moment)).id) for _ in range(5)}
        seen: list[str] = []
        cursor = None
        while True:
            params = {"lead_id": str(lead.id), "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await as_broker.get("/v1/interactions", params=params)).json()
            seen += [i["id"] for i in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert sorted(seen) == sorted(created)

    async def test_filtering_by_author(
        self, as_broker: httpx.AsyncClient, as_owner: httpx.AsyncClient, lead: Lead, broker: User
    ) -> None:
        await as_broker.post("/v1/interactions", json=_call(lead))
        await as_owner.post("/v1/interactions", json=_call(lead, channel="email"))
        items = (await as_owner.get("/v1/interactions", params={"author_id": str(broker.id)})).json()["items"]
        assert [i["channel"] for i in items] == ["call"]

    async def test_a_cursor_of_another_kind_is_a_bad_request(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.get("/v1/interactions", params={"cursor": "WzEsIjAxOTMiXQ"})
        assert response.status_code == 400


class TestWhoMayDoWhat:
    async def test_a_viewer_reads_but_cannot_log(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        row = await make_interaction(db, tenant, lead)
        assert (await as_viewer.get(f"/v1/interactions/{row.id}")).status_code == 200
        assert (await as_viewer.post("/v1/interactions", json=_call(lead))).status_code == 403

    async def test_a_broker_does_not_see_interactions_of_a_lead_that_is_not_theirs(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, managers_lead: Lead
    ) -> None:
        row = await make_interaction(db, tenant, managers_lead)
        assert (await as_broker.get(f"/v1/interactions/{row.id}")).status_code == 404
        assert (await as_broker.get("/v1/interactions")).json()["items"] == []
        response = await as_broker.post("/v1/interactions", json=_call(managers_lead))
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "lead_id"

    async def test_the_author_corrects_and_deletes_their_interaction(
        self, as_broker: httpx.AsyncClient, lead: Lead
    ) -> None:
        created = (await as_broker.post("/v1/interactions", json=_call(lead))).json()
        patched = await as_broker.patch(f"/v1/interactions/{created['id']}", json={"outcome": "caixa postal"})
        assert patched.json()["outcome"] == "caixa postal"
        assert (await as_broker.delete(f"/v1/interactions/{created['id']}")).status_code == 204
        assert (await as_broker.get(f"/v1/interactions/{created['id']}")).status_code == 404

    async def test_a_broker_who_is_not_the_author_cannot_delete_it(
        self, as_broker: httpx.AsyncClient, as_owner: httpx.AsyncClient, lead: Lead
    ) -> None:
        created = (await as_owner.post("/v1/interactions", json=_call(lead))).json()
        assert (await as_broker.get(f"/v1/interactions/{created['id']}")).status_code == 200
        assert (await as_broker.delete(f"/v1/interactions/{created['id']}")).status_code == 403

    async def test_a_manager_deletes_what_someone_else_logged(
        self, as_owner: httpx.AsyncClient, as_manager: httpx.AsyncClient, managers_lead: Lead
    ) -> None:
        created = (await as_owner.post("/v1/interactions", json=_call(managers_lead))).json()
        assert (await as_manager.delete(f"/v1/interactions/{created['id']}")).status_code == 204

    async def test_deleting_is_soft_and_audited(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        row = await make_interaction(db, tenant, lead)
        await as_owner.delete(f"/v1/interactions/{row.id}")
        audit = (await as_owner.get("/v1/audit", params={"entity_id": str(row.id)})).json()["items"]
        assert [e["action"] for e in audit][:2] == ["delete", "create"]

    async def test_null_for_a_required_field_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        row = await make_interaction(db, tenant, lead)
        response = await as_broker.patch(f"/v1/interactions/{row.id}", json={"channel": None})
        assert response.status_code == 422

    async def test_an_api_key_with_write_scope_logs_without_an_author(
        self, app: Any, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        _, key = await factories.make_key(db, tenant, scopes=["write"])
        async with factories.client(app, tenant, token=key) as as_key:
            response = await as_key.post("/v1/interactions", json=_call(lead))
        assert response.status_code == 201
        assert response.json()["author_id"] is None

    async def test_a_read_key_cannot_log(self, app: Any, db: Database, tenant: Tenant, lead: Lead) -> None:
        _, key = await factories.make_key(db, tenant, scopes=["read"])
        async with factories.client(app, tenant, token=key) as as_key:
            assert (await as_key.post("/v1/interactions", json=_call(lead))).status_code == 403
