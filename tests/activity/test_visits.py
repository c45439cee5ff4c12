"""Visits: scheduling with a broker and a property, marking them done (which logs the contact), and lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Lead, Property, Tenant, User
from tests import factories
from tests.activity.factories import make_visit, reload


def _visit(lead: Lead, **fields: Any) -> dict[str, Any]:
    return {"lead_id": str(lead.id), "scheduled_at": (utcnow() + timedelta(days=2)).isoformat(), **fields}


class TestSchedulingAVisit:
    async def test_it_is_yours_by_default_and_scheduled(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        prop = await factories.make_property(db, tenant)
        response = await as_broker.post("/v1/visits", json=_visit(lead, property_id=str(prop.id)))
        assert response.status_code == 201, response.text
        visit = response.json()
        assert (visit["broker_id"], visit["status"], visit["duration_minutes"]) == (str(broker.id), "agendada", 60)
        assert visit["property_id"] == str(prop.id)

    async def test_a_lead_is_required(self, as_broker: httpx.AsyncClient) -> None:
        body = {"scheduled_at": utcnow().isoformat()}
        assert (await as_broker.post("/v1/visits", json=body)).status_code == 422

    async def test_an_unknown_status_is_refused(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        assert (await as_broker.post("/v1/visits", json=_visit(lead, status="talvez"))).status_code == 422

    async def test_a_visit_created_as_done_is_logged_at_once(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        yesterday = (utcnow() - timedelta(days=1)).replace(microsecond=0)
        body = _visit(lead, scheduled_at=yesterday.isoformat(), status="realizada", feedback="Gostou muito.")
        assert (await as_broker.post("/v1/visits", json=body)).status_code == 201
        logged = (await as_broker.get("/v1/interactions", params={"lead_id": str(lead.id)})).json()["items"]
        assert [(i["channel"], i["direction"], i["body"]) for i in logged] == [("visit", "outbound", "Gostou muito.")]
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at == yesterday


class TestMarkingAVisitDone:
    async def test_it_logs_a_visit_interaction_that_counts_as_first_response(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        earlier = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
        visit = await make_visit(db, tenant, lead, scheduled_at=earlier, broker_id=broker.id)
        change = {"status": "realizada", "feedback": "Quer fazer proposta na segunda-feira."}
        response = await as_broker.patch(f"/v1/visits/{visit.id}", json=change)
        assert response.status_code == 200, response.text
        logged = (await as_broker.get("/v1/interactions", params={"lead_id": str(lead.id)})).json()["items"]
        assert len(logged) == 1
        assert (logged[0]["channel"], logged[0]["direction"]) == ("visit", "outbound")
        assert logged[0]["author_id"] == str(broker.id)
        assert logged[0]["occurred_at"].startswith(earlier.isoformat()[:19])
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at == earlier

    async def test_saving_it_done_again_logs_nothing_more(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        visit = await make_visit(db, tenant, lead, scheduled_at=utcnow() - timedelta(hours=1))
        await as_broker.patch(f"/v1/visits/{visit.id}", json={"status": "realizada"})
        await as_broker.patch(f"/v1/visits/{visit.id}", json={"status": "realizada", "feedback": "Ok"})
        logged = (await as_broker.get("/v1/interactions", params={"lead_id": str(lead.id)})).json()["items"]
        assert len(logged) == 1

    async def test_confirming_or_cancelling_logs_nothing(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        visit = await make_visit(db, tenant, lead, scheduled_at=utcnow() + timedelta(days=1))
        for status in ("confirmada", "cancelada", "nao_compareceu"):
            assert (await as_broker.patch(f"/v1/visits/{visit.id}", json={"status": status})).status_code == 200
        assert (await as_broker.get("/v1/interactions")).json()["items"] == []
        assert (await reload(db, tenant, Lead, lead.id)).first_responded_at is None

    async def test_rescheduling_and_changing_the_property(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        visit = await make_visit(db, tenant, lead, scheduled_at=utcnow() + timedelta(days=1))
        prop = await factories.make_property(db, tenant, reference="CA-0002")
        later = (utcnow() + timedelta(days=3)).replace(microsecond=0)
        change = {"scheduled_at": later.isoformat(), "property_id": str(prop.id), "duration_minutes": 30}
        body = (await as_broker.patch(f"/v1/visits/{visit.id}", json=change)).json()
        assert (body["property_id"], body["duration_minutes"]) == (str(prop.id), 30)
        assert body["scheduled_at"].startswith(later.isoformat()[:19])


class TestListingVisits:
    async def test_filters_by_status_property_broker_and_window(
        self,
        as_owner: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        broker: User,
        manager: User,
        lead: Lead,
    ) -> None:
        now = utcnow()
        prop: Property = await factories.make_property(db, tenant)
        soon = await make_visit(db, tenant, lead, scheduled_at=now + timedelta(days=1), broker_id=broker.id)
        done = await make_visit(
            db, tenant, lead, scheduled_at=now - timedelta(days=1), status="realizada", property_id=prop.id
        )
        managers = await make_visit(db, tenant, lead, scheduled_at=now + timedelta(days=5), broker_id=manager.id)

        async def ids(**params: str) -> list[str]:
            response = await as_owner.get("/v1/visits", params=params)
            assert response.status_code == 200, response.text
            return [v["id"] for v in response.json()["items"]]

        assert await ids() == [str(done.id), str(soon.id), str(managers.id)]
        assert await ids(status="realizada") == [str(done.id)]
        assert await ids(property_id=str(prop.id)) == [str(done.id)]
        assert await ids(broker_id=str(manager.id)) == [str(managers.id)]
        window = {"from": now.isoformat(), "to": (now + timedelta(days=2)).isoformat()}
        assert await ids(**window) == [str(soon.id)]
        assert await ids(lead_id=str(lead.id), to=now.isoformat()) == [str(done.id)]

    async def test_a_broker_does_not_see_visits_of_leads_that_are_not_theirs(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, managers_lead: Lead
    ) -> None:
        hidden = await make_visit(db, tenant, managers_lead, scheduled_at=utcnow())
        assert (await as_broker.get("/v1/visits")).json()["items"] == []
        assert (await as_broker.get(f"/v1/visits/{hidden.id}")).status_code == 404

    async def test_the_broker_of_the_visit_or_a_manager_deletes_it(
        self, as_broker: httpx.AsyncClient, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        others = await make_visit(db, tenant, lead, scheduled_at=utcnow())
        mine = (await as_broker.post("/v1/visits", json=_visit(lead))).json()
        assert (await as_broker.delete(f"/v1/visits/{others.id}")).status_code == 403
        assert (await as_broker.delete(f"/v1/visits/{mine['id']}")).status_code == 204
        assert (await as_owner.delete(f"/v1/visits/{others.id}")).status_code == 204
