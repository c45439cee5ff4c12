"""Cross-tenant twins: another tenant's interactions, tasks, visits, attachments, leads and people are 404 on every
activity route, and their ids inside a body (lead, person, property, assignee, broker, interaction) are 404 naming
the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Attachment, Interaction, Lead, Property, Role, Task, Tenant, User, Visit
from tests import factories
from tests.activity.factories import PDF_BYTES, make_attachment, make_interaction, make_open_lead, make_task, make_visit

RIVAL_NAME = "Cliente da Rival"


class Rival:
    """Rows of the other tenant, one of each kind."""

    def __init__(self, **rows: Any) -> None:
        self.lead: Lead = rows["lead"]
        self.broker: User = rows["broker"]
        self.prop: Property = rows["prop"]
        self.interaction: Interaction = rows["interaction"]
        self.task: Task = rows["task"]
        self.visit: Visit = rows["visit"]
        self.attachment: Attachment = rows["attachment"]


@pytest.fixture
async def rival(db: Database, other_tenant: Tenant) -> Rival:
    broker = await factories.make_user(db, other_tenant, role=Role.BROKER)
    person = await factories.make_person(db, other_tenant, name=RIVAL_NAME)
    lead = await make_open_lead(db, other_tenant, owner=broker, person=person)
    return Rival(
        lead=lead,
        broker=broker,
        prop=await factories.make_property(db, other_tenant, reference="AP-RIVAL"),
        interaction=await make_interaction(db, other_tenant, lead, body="segredo da rival"),
        task=await make_task(db, other_tenant, assignee=broker, due_at=utcnow(), lead_id=lead.id),
        visit=await make_visit(db, other_tenant, lead, scheduled_at=utcnow(), broker_id=broker.id),
        attachment=await make_attachment(db, other_tenant, lead),
    )


def _routes(r: Rival) -> list[tuple[str, str, dict[str, Any] | None]]:
    i, t, v, a = r.interaction.id, r.task.id, r.visit.id, r.attachment.id
    return [
        ("GET", f"/v1/interactions/{i}", None),
        ("PATCH", f"/v1/interactions/{i}", {"outcome": "invadido"}),
        ("DELETE", f"/v1/interactions/{i}", None),
        ("GET", f"/v1/tasks/{t}", None),
        ("PATCH", f"/v1/tasks/{t}", {"title": "Invadido"}),
        ("POST", f"/v1/tasks/{t}/complete", None),
        ("POST", f"/v1/tasks/{t}/reopen", None),
        ("DELETE", f"/v1/tasks/{t}", None),
        ("GET", f"/v1/visits/{v}", None),
        ("PATCH", f"/v1/visits/{v}", {"status": "realizada"}),
        ("DELETE", f"/v1/visits/{v}", None),
        ("GET", f"/v1/attachments/{a}", None),
        ("GET", f"/v1/attachments/{a}/download", None),
        ("DELETE", f"/v1/attachments/{a}", None),
        ("GET", f"/v1/leads/{r.lead.id}/timeline", None),
        ("GET", f"/v1/people/{r.lead.person_id}/timeline", None),
    ]


class TestAnotherTenantsRows:
    async def test_every_route_answers_404_for_another_tenants_ids(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        for method, path, body in _routes(rival):
            response = await as_owner.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert RIVAL_NAME not in response.text
            assert "segredo" not in response.text

    async def test_lists_filtered_by_another_tenants_ids_are_empty(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        lead = {"lead_id": str(rival.lead.id)}
        for path in ("/v1/interactions", "/v1/tasks", "/v1/visits", "/v1/attachments"):
            response = await as_owner.get(path, params=lead)
            assert (response.status_code, response.json()["items"]) == (200, []), path
        for path in ("/v1/interactions", "/v1/tasks", "/v1/visits", "/v1/attachments"):
            assert (await as_owner.get(path)).json()["items"] == [], path

    async def test_nothing_of_theirs_changed(
        self, as_owner: httpx.AsyncClient, db: Database, other_tenant: Tenant, rival: Rival
    ) -> None:
        for method, path, body in _routes(rival):
            await as_owner.request(method, path, json=body)
        async with db.session(factories.owner_scope(other_tenant)) as session:
            assert (await session.get_one(Interaction, rival.interaction.id)).outcome is None
            task = await session.get_one(Task, rival.task.id)
            assert (task.title, task.deleted_at) == ("Ligar para o cliente", None)
            assert (await session.get_one(Visit, rival.visit.id)).status.value == "agendada"
            assert (await session.get_one(Attachment, rival.attachment.id)).deleted_at is None


def _later() -> str:
    return (utcnow() + timedelta(days=1)).isoformat()


def _bodies(r: Rival) -> list[tuple[str, dict[str, Any], str]]:
    lead, person = str(r.lead.id), str(r.lead.person_id)
    return [
        ("/v1/interactions", {"lead_id": lead, "channel": "call", "direction": "outbound"}, "lead_id"),
        ("/v1/interactions", {"person_id": person, "channel": "call", "direction": "outbound"}, "person_id"),
        ("/v1/tasks", {"title": "x", "due_at": _later(), "lead_id": lead}, "lead_id"),
        ("/v1/tasks", {"title": "x", "due_at": _later(), "person_id": person}, "person_id"),
        ("/v1/tasks", {"title": "x", "due_at": _later(), "assignee_id": str(r.broker.id)}, "assignee_id"),
        ("/v1/visits", {"lead_id": lead, "scheduled_at": _later()}, "lead_id"),
    ]


class TestAnotherTenantsIdsInBodies:
    async def test_creating_with_their_ids_is_404_naming_the_field(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        for path, body, field in _bodies(rival):
            response = await as_owner.post(path, json=body)
            assert response.status_code == 404, (path, field, response.text)
            assert response.json()["errors"][0]["field"] == field

    async def test_a_visit_with_their_property_or_broker_is_404(
        self, as_owner: httpx.AsyncClient, lead: Lead, rival: Rival
    ) -> None:
        for field, value in (("property_id", rival.prop.id), ("broker_id", rival.broker.id)):
            body = {"lead_id": str(lead.id), "scheduled_at": _later(), field: str(value)}
            response = await as_owner.post("/v1/visits", json=body)
            assert response.status_code == 404, field
            assert response.json()["errors"][0]["field"] == field

    async def test_changing_ours_to_point_at_theirs_is_404(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead, rival: Rival
    ) -> None:
        task = await make_task(db, tenant, assignee=broker, due_at=utcnow())
        visit = await make_visit(db, tenant, lead, scheduled_at=utcnow())
        changes = [
            (f"/v1/tasks/{task.id}", {"lead_id": str(rival.lead.id)}, "lead_id"),
            (f"/v1/tasks/{task.id}", {"person_id": str(rival.lead.person_id)}, "person_id"),
            (f"/v1/tasks/{task.id}", {"assignee_id": str(rival.broker.id)}, "assignee_id"),
            (f"/v1/visits/{visit.id}", {"property_id": str(rival.prop.id)}, "property_id"),
            (f"/v1/visits/{visit.id}", {"broker_id": str(rival.broker.id)}, "broker_id"),
        ]
        for path, body, field in changes:
            response = await as_owner.patch(path, json=body)
            assert response.status_code == 404, (path, field, response.text)
            assert response.json()["errors"][0]["field"] == field

    @pytest.mark.parametrize("field", ["interaction_id", "lead_id", "person_id", "property_id"])
    async def test_uploading_to_their_rows_is_404(self, as_owner: httpx.AsyncClient, rival: Rival, field: str) -> None:
        ids = {
            "interaction_id": rival.interaction.id,
            "lead_id": rival.lead.id,
            "person_id": rival.lead.person_id,
            "property_id": rival.prop.id,
        }
        files = {"file": ("proposta.pdf", PDF_BYTES, "application/pdf")}
        response = await as_owner.post("/v1/attachments", files=files, data={field: str(ids[field])})
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == field

    async def test_their_credentials_on_our_host_are_404(
        self, app: Any, db: Database, tenant: Tenant, other_tenant: Tenant, rival: Rival
    ) -> None:
        _, their_key = await factories.make_key(db, other_tenant, scopes=["read", "write", "admin"])
        async with factories.client(app, tenant, token=their_key) as c:
            assert (await c.get("/v1/my-day")).status_code == 404
            assert (await c.get("/v1/interactions")).status_code == 404
