"""First-response SLA: a routed lead nobody answers moves to the next broker when its timer comes due, up to the
team's limit, then to the team's manager; each step is a stored decision, an audit entry and a lead.sla_breached
event. An answered lead, or one handed to someone else meanwhile, stays where it is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Tenant, User
from tests import factories
from tests.bus.conftest import Clock
from tests.pipeline.conftest import SalesTeam, convert, drain, leads_of, outbox_of, visitor

pytestmark = pytest.mark.usefixtures("handler_clock")

SLA_MINUTES = 10


async def _configure(client: httpx.AsyncClient, sales: SalesTeam, *, max_reroutes: int = 2) -> None:
    body = {"sla_minutes": SLA_MINUTES, "max_reroutes": max_reroutes, "members": []}
    response = await client.put(f"/v1/teams/{sales.team.id}/roleta", json=body)
    assert response.status_code == 200, response.text


async def _routed_lead(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, worker: Dispatcher, sales: SalesTeam, **roleta: int
) -> dict[str, Any]:
    await _configure(client, sales, **roleta)
    await convert(anonymous, worker, visitor(1))
    [lead] = await leads_of(client)
    assert lead["owner_id"] in {str(broker.id) for broker in sales.brokers}
    return lead


async def _lead(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/leads/{lead_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _decisions(client: httpx.AsyncClient, lead_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/leads/{lead_id}/routing")
    assert response.status_code == 200, response.text
    return list(response.json())


async def _let_time_pass(clock: Clock, worker: Dispatcher, minutes: float) -> None:
    """Move the clock ``minutes`` past the later of its time and the real time, and deliver what came due."""
    clock.now = max(clock.now, utcnow()) + timedelta(minutes=minutes)
    await drain(worker)


def _other_broker(sales: SalesTeam, owner_id: str) -> User:
    [other] = [broker for broker in sales.brokers if str(broker.id) != owner_id]
    return other


class TestTheTimer:
    async def test_a_routed_lead_is_due_after_the_teams_sla_minutes(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        before = utcnow()
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        due = datetime.fromisoformat(lead["first_response_due_at"])
        assert before + timedelta(minutes=SLA_MINUTES) <= due <= utcnow() + timedelta(minutes=SLA_MINUTES)

    async def test_nothing_moves_before_the_lead_is_due(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        await _let_time_pass(clock, worker, SLA_MINUTES - 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == lead["owner_id"]
        assert [d["kind"] for d in await _decisions(as_sales_manager, lead["id"])] == ["new_lead"]


class TestNobodyAnswers:
    async def test_the_lead_goes_to_the_other_broker_with_a_stored_decision(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        other = _other_broker(sales, lead["owner_id"])
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == str(other.id)
        first, reroute = await _decisions(as_sales_manager, lead["id"])
        assert (first["kind"], reroute["kind"]) == ("new_lead", "sla_reroute")
        assert reroute["assignee_id"] == str(other.id)
        team_step = next(s for s in reroute["roleta"]["steps"] if s["step"] == "team")
        skipped = {c["user_id"]: c["skipped_because"] for c in team_step["considered"]}
        assert skipped[lead["owner_id"]] == "previous_owner"

    async def test_the_breach_is_published_and_audited(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
        db: Database,
        tenant: Tenant,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        other = _other_broker(sales, lead["owner_id"])
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        [breach] = await outbox_of(db, tenant, "lead.sla_breached")
        assert breach.payload["lead_id"] == lead["id"]
        assert breach.payload["breached_owner_id"] == lead["owner_id"]
        assert breach.payload["next_owner_id"] == str(other.id)
        assert (breach.payload["reroute_number"], breach.payload["escalated_to_manager"]) == (1, False)
        params = {"action": "lead.sla_breached", "entity_id": lead["id"]}
        [entry] = (await as_sales_manager.get("/v1/audit", params=params)).json()["items"]
        assert entry["changes"] == {"owner_id": [lead["owner_id"], str(other.id)]}

    async def test_the_new_owner_gets_a_fresh_deadline(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        due = datetime.fromisoformat((await _lead(as_sales_manager, lead["id"]))["first_response_due_at"])
        assert due == clock.now + timedelta(minutes=SLA_MINUTES)

    async def test_a_deadline_set_by_a_rule_holds_for_the_next_broker_too(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
    ) -> None:
        urgent = {"id": "urgente", "name": "Urgente", "when": {"field": "lead.source", "op": "exists"}}
        saved = await as_sales_manager.post(
            "/v1/rule-sets", json={"rules": [{**urgent, "actions": [{"sla_minutes": 3}]}]}
        )
        assert saved.status_code == 201, saved.text
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        await _let_time_pass(clock, worker, 4)
        rerouted = await _lead(as_sales_manager, lead["id"])
        assert rerouted["owner_id"] == str(_other_broker(sales, lead["owner_id"]).id)
        assert datetime.fromisoformat(rerouted["first_response_due_at"]) == clock.now + timedelta(minutes=3)

    async def test_when_every_broker_had_it_the_manager_gets_it_and_no_timer_follows(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
        db: Database,
        tenant: Tenant,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == str(sales.manager.id)
        await _let_time_pass(clock, worker, 10 * SLA_MINUTES)
        kinds = [d["kind"] for d in await _decisions(as_sales_manager, lead["id"])]
        assert kinds == ["new_lead", "sla_reroute", "sla_escalation"]
        assert len(await outbox_of(db, tenant, "lead.sla_due")) == 2
        last = (await outbox_of(db, tenant, "lead.sla_breached"))[-1]
        assert (last.payload["next_owner_id"], last.payload["escalated_to_manager"]) == (str(sales.manager.id), True)

    async def test_after_max_reroutes_the_manager_gets_it_although_a_broker_is_free(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales, max_reroutes=0)
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == str(sales.manager.id)
        [_, escalation] = await _decisions(as_sales_manager, lead["id"])
        assert (escalation["kind"], escalation["step"]) == ("sla_escalation", "manager")


class TestATimerThatNoLongerApplies:
    async def test_a_lead_answered_in_time_stays_with_its_owner(
        self,
        app: FastAPI,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
        db: Database,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        [owner] = [broker for broker in sales.brokers if str(broker.id) == lead["owner_id"]]
        async with factories.logged_in(app, tenant, owner) as as_owner_broker:
            answer = {"lead_id": lead["id"], "channel": "whatsapp", "direction": "outbound", "body": "Olá!"}
            assert (await as_owner_broker.post("/v1/interactions", json=answer)).status_code == 201
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == lead["owner_id"]
        assert [d["kind"] for d in await _decisions(as_sales_manager, lead["id"])] == ["new_lead"]
        assert await outbox_of(db, tenant, "lead.sla_breached") == []

    async def test_a_manual_reassignment_makes_the_timer_stale(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        clock: Clock,
        db: Database,
        tenant: Tenant,
    ) -> None:
        lead = await _routed_lead(as_sales_manager, anonymous, worker, sales)
        other = _other_broker(sales, lead["owner_id"])
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(other.id)})
        assert response.status_code == 200, response.text
        await _let_time_pass(clock, worker, SLA_MINUTES + 1)
        assert (await _lead(as_sales_manager, lead["id"]))["owner_id"] == str(other.id)
        assert [d["kind"] for d in await _decisions(as_sales_manager, lead["id"])] == ["new_lead"]
        assert await outbox_of(db, tenant, "lead.sla_breached") == []
