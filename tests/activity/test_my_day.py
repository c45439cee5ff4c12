"""My day: a user's new leads awaiting a first response, overdue and today's tasks, today's visits — "today" in
the tenant's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from leadflow.activity import schemas, service
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import LeadStatus, Tenant, User, VisitStatus
from tests import factories
from tests.activity.factories import make_open_lead, make_task, make_visit

# 23:30 on 9 March 2026 in São Paulo (UTC-3), already 10 March in UTC.
NOW = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "utcnow", lambda: NOW)
    monkeypatch.setattr(schemas, "utcnow", lambda: NOW)


class Day:
    def __init__(self, **rows: Any) -> None:
        self.ids = {name: str(row.id) for name, row in rows.items()}

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


@pytest.fixture
async def day(db: Database, tenant: Tenant, broker: User, manager: User) -> Day:
    lead = await make_open_lead(db, tenant, owner=broker, created_at=NOW - timedelta(days=3), first_responded_at=NOW)
    return Day(
        overdue_open=await make_task(db, tenant, assignee=broker, due_at=at("2026-03-09T02:00")),
        overdue_done=await make_task(db, tenant, assignee=broker, due_at=at("2026-03-09T01:00"), done_at=NOW),
        this_morning=await make_task(db, tenant, assignee=broker, due_at=at("2026-03-09T12:00")),
        tonight=await make_task(db, tenant, assignee=broker, due_at=at("2026-03-10T02:50")),
        after_midnight=await make_task(db, tenant, assignee=broker, due_at=at("2026-03-10T03:10")),
        managers_task=await make_task(db, tenant, assignee=manager, due_at=at("2026-03-09T15:00")),
        visit_today=await make_visit(db, tenant, lead, scheduled_at=at("2026-03-09T20:00"), broker_id=broker.id),
        visit_cancelled=await make_visit(
            db, tenant, lead, scheduled_at=at("2026-03-09T21:00"), broker_id=broker.id, status=VisitStatus.CANCELLED
        ),
        visit_tomorrow=await make_visit(db, tenant, lead, scheduled_at=at("2026-03-10T03:30"), broker_id=broker.id),
        waiting_long=await make_open_lead(
            db,
            tenant,
            owner=broker,
            created_at=NOW - timedelta(hours=2),
            first_response_due_at=NOW - timedelta(minutes=10),
        ),
        just_arrived=await make_open_lead(
            db,
            tenant,
            owner=broker,
            created_at=NOW - timedelta(minutes=5),
            first_response_due_at=NOW + timedelta(minutes=25),
        ),
        already_won=await make_open_lead(db, tenant, owner=broker, status=LeadStatus.WON),
        someone_elses=await make_open_lead(db, tenant, owner=manager),
    )


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


class TestMyDay:
    async def test_today_is_the_tenants_calendar_day(self, as_broker: httpx.AsyncClient, day: Day) -> None:
        body = (await as_broker.get("/v1/my-day")).json()
        assert (body["day"], body["time_zone"]) == ("2026-03-09", "America/Sao_Paulo")
        assert _ids(body["today_tasks"]) == [day["this_morning"], day["tonight"]]
        assert _ids(body["overdue_tasks"]) == [day["overdue_open"]]
        assert _ids(body["today_visits"]) == [day["visit_today"]]

    async def test_todays_tasks_carry_their_overdue_flag(self, as_broker: httpx.AsyncClient, day: Day) -> None:
        today = (await as_broker.get("/v1/my-day")).json()["today_tasks"]
        assert [t["overdue"] for t in today] == [True, False]

    async def test_new_leads_wait_oldest_first_with_the_time_left(self, as_broker: httpx.AsyncClient, day: Day) -> None:
        waiting = (await as_broker.get("/v1/my-day")).json()["awaiting_first_response"]
        assert _ids(waiting) == [day["waiting_long"], day["just_arrived"]]
        assert [(w["minutes_left"], w["overdue"]) for w in waiting] == [(-10, True), (25, False)]
        assert waiting[0]["person_name"] == "Maria Silva"

    async def test_another_time_zone_moves_the_day(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, day: Day
    ) -> None:
        async with db.session(Scope.system()) as session:
            (await session.get_one(Tenant, tenant.id)).time_zone = "UTC"
        body = (await as_broker.get("/v1/my-day")).json()
        assert date.fromisoformat(body["day"]) == date(2026, 3, 10)
        assert _ids(body["today_tasks"]) == [day["tonight"], day["after_midnight"]]
        assert _ids(body["overdue_tasks"]) == [day["overdue_open"], day["this_morning"]]
        assert _ids(body["today_visits"]) == [day["visit_tomorrow"]]

    async def test_it_is_each_users_own_day(self, as_manager: httpx.AsyncClient, day: Day) -> None:
        body = (await as_manager.get("/v1/my-day")).json()
        assert _ids(body["today_tasks"]) == [day["managers_task"]]
        assert _ids(body["awaiting_first_response"]) == [day["someone_elses"]]
        assert body["today_visits"] == []

    async def test_an_api_key_has_no_day(self, app: Any, db: Database, tenant: Tenant) -> None:
        _, key = await factories.make_key(db, tenant, scopes=["read"])
        async with factories.client(app, tenant, token=key) as as_key:
            assert (await as_key.get("/v1/my-day")).status_code == 403
