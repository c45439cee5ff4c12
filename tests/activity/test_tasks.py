"""Tasks (follow-ups): who they are for, when they are overdue, completing and reopening, and the list filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Lead, Role, Tenant, User
from tests import factories
from tests.activity.factories import make_open_lead, make_task


def _task(**fields: Any) -> dict[str, Any]:
    return {"title": "Ligar para confirmar a visita", "due_at": (utcnow() + timedelta(days=1)).isoformat(), **fields}


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["items"]]


class TestCreatingATask:
    async def test_it_is_yours_by_default_and_about_the_leads_person(
        self, as_broker: httpx.AsyncClient, broker: User, lead: Lead
    ) -> None:
        response = await as_broker.post("/v1/tasks", json=_task(lead_id=str(lead.id)))
        assert response.status_code == 201, response.text
        task = response.json()
        assert (task["assignee_id"], task["created_by_id"]) == (str(broker.id), str(broker.id))
        assert task["person_id"] == str(lead.person_id)
        assert (task["done"], task["overdue"]) == (False, False)

    async def test_it_can_be_given_to_a_colleague(self, as_manager: httpx.AsyncClient, broker: User) -> None:
        task = (await as_manager.post("/v1/tasks", json=_task(assignee_id=str(broker.id)))).json()
        assert task["assignee_id"] == str(broker.id)

    async def test_an_inactive_assignee_is_refused(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        gone = await factories.make_user(db, tenant, role=Role.BROKER)
        async with db.session(factories.owner_scope(tenant)) as session:
            (await session.get_one(User, gone.id)).is_active = False
        response = await as_manager.post("/v1/tasks", json=_task(assignee_id=str(gone.id)))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "assignee_id"

    async def test_a_task_past_its_due_moment_is_overdue(self, as_broker: httpx.AsyncClient) -> None:
        past = (utcnow() - timedelta(hours=1)).isoformat()
        assert (await as_broker.post("/v1/tasks", json=_task(due_at=past))).json()["overdue"] is True

    async def test_a_title_is_required(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/tasks", json=_task(title=""))
        assert response.status_code == 422

    async def test_a_broker_cannot_attach_a_task_to_a_lead_they_cannot_see(
        self, as_broker: httpx.AsyncClient, managers_lead: Lead
    ) -> None:
        response = await as_broker.post("/v1/tasks", json=_task(lead_id=str(managers_lead.id)))
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "lead_id"


class TestCompletingATask:
    async def test_complete_then_reopen(self, as_broker: httpx.AsyncClient) -> None:
        past = (utcnow() - timedelta(hours=1)).isoformat()
        task = (await as_broker.post("/v1/tasks", json=_task(due_at=past))).json()
        done = (await as_broker.post(f"/v1/tasks/{task['id']}/complete")).json()
        assert (done["done"], done["overdue"]) == (True, False)
        assert done["done_at"] is not None
        again = (await as_broker.post(f"/v1/tasks/{task['id']}/complete")).json()
        assert again["done_at"] == done["done_at"]
        reopened = (await as_broker.post(f"/v1/tasks/{task['id']}/reopen")).json()
        assert (reopened["done"], reopened["overdue"], reopened["done_at"]) == (False, True, None)

    async def test_a_viewer_cannot_complete(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        task = await make_task(db, tenant, assignee=broker, due_at=utcnow())
        assert (await as_viewer.post(f"/v1/tasks/{task.id}/complete")).status_code == 403


class TestChangingATask:
    async def test_moving_it_to_another_lead_brings_that_leads_person(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        task = (await as_broker.post("/v1/tasks", json=_task(lead_id=str(lead.id)))).json()
        second = await make_open_lead(
            db, tenant, owner=broker, person=await factories.make_person(db, tenant, name="Carlos Lima")
        )
        moved = (await as_broker.patch(f"/v1/tasks/{task['id']}", json={"lead_id": str(second.id)})).json()
        assert (moved["lead_id"], moved["person_id"]) == (str(second.id), str(second.person_id))

    async def test_detaching_it_from_the_lead_keeps_the_person(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        task = (await as_broker.post("/v1/tasks", json=_task(lead_id=str(lead.id)))).json()
        detached = (await as_broker.patch(f"/v1/tasks/{task['id']}", json={"lead_id": None})).json()
        assert (detached["lead_id"], detached["person_id"]) == (None, str(lead.person_id))

    async def test_the_due_moment_cannot_be_removed(self, as_broker: httpx.AsyncClient) -> None:
        task = (await as_broker.post("/v1/tasks", json=_task())).json()
        response = await as_broker.patch(f"/v1/tasks/{task['id']}", json={"due_at": None})
        assert response.status_code == 422

    async def test_only_a_manager_or_its_creator_deletes_it(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, broker: User
    ) -> None:
        task = (await as_manager.post("/v1/tasks", json=_task(assignee_id=str(broker.id)))).json()
        assert (await as_broker.delete(f"/v1/tasks/{task['id']}")).status_code == 403
        mine = (await as_broker.post("/v1/tasks", json=_task())).json()
        assert (await as_broker.delete(f"/v1/tasks/{mine['id']}")).status_code == 204
        assert (await as_manager.delete(f"/v1/tasks/{task['id']}")).status_code == 204
        assert (await as_broker.get(f"/v1/tasks/{task['id']}")).status_code == 404


class TestListingTasks:
    async def test_overdue_done_assignee_and_due_range_filters(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, manager: User
    ) -> None:
        now = utcnow()
        late = await make_task(db, tenant, assignee=broker, due_at=now - timedelta(days=2))
        finished = await make_task(db, tenant, assignee=broker, due_at=now - timedelta(days=1), done_at=now)
        upcoming = await make_task(db, tenant, assignee=broker, due_at=now + timedelta(days=1))
        managers = await make_task(db, tenant, assignee=manager, due_at=now - timedelta(hours=1))
        get = as_manager.get
        assert _ids(await get("/v1/tasks", params={"overdue": "true"})) == [str(late.id), str(managers.id)]
        assert _ids(await get("/v1/tasks", params={"overdue": "false", "assignee_id": str(broker.id)})) == [
            str(finished.id),
            str(upcoming.id),
        ]
        assert _ids(await get("/v1/tasks", params={"done": "true"})) == [str(finished.id)]
        assert _ids(await get("/v1/tasks", params={"assignee_id": str(manager.id)})) == [str(managers.id)]
        window = {"due_from": (now - timedelta(days=1, hours=1)).isoformat(), "due_to": now.isoformat()}
        assert _ids(await get("/v1/tasks", params=window)) == [str(finished.id), str(managers.id)]

    async def test_soonest_due_first_across_pages(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        now = utcnow()
        tasks = [await make_task(db, tenant, assignee=broker, due_at=now + timedelta(hours=h)) for h in (3, 1, 2)]
        first = (await as_broker.get("/v1/tasks", params={"limit": 2})).json()
        second = (await as_broker.get("/v1/tasks", params={"limit": 2, "cursor": first["next_cursor"]})).json()
        order = [t["id"] for t in first["items"] + second["items"]]
        assert order == [str(tasks[1].id), str(tasks[2].id), str(tasks[0].id)]
        assert second["next_cursor"] is None

    async def test_filter_by_lead(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        about_lead = await make_task(db, tenant, assignee=broker, due_at=utcnow(), lead_id=lead.id)
        await make_task(db, tenant, assignee=broker, due_at=utcnow())
        assert _ids(await as_broker.get("/v1/tasks", params={"lead_id": str(lead.id)})) == [str(about_lead.id)]

    async def test_a_broker_does_not_see_tasks_on_leads_that_are_not_theirs(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, manager: User, managers_lead: Lead
    ) -> None:
        hidden = await make_task(db, tenant, assignee=manager, due_at=utcnow(), lead_id=managers_lead.id)
        assert _ids(await as_broker.get("/v1/tasks")) == []
        assert (await as_broker.get(f"/v1/tasks/{hidden.id}")).status_code == 404
