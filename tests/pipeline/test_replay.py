"""Replay: logged conversions run again through the current rules. A dry run reports what would change on each lead
and changes nothing; applying changes exactly that, with a decision carrying the rule-set version, publishes
lead.assigned only for leads whose owner changed, and leaves the event log as it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import Tenant
from tests import factories
from tests.pipeline.conftest import SalesTeam, convert, leads_of, outbox_of, visitor

GOOGLE = {"utm_source": "google", "utm_medium": "cpc"}
FACEBOOK = {"utm_source": "facebook", "utm_medium": "paid"}
TAG_GOOGLE = {
    "id": "google-ads",
    "name": "Leads do Google",
    "when": {"field": "event.utm_source", "op": "eq", "value": "google"},
    "actions": [{"tag": "google-ads"}, {"score": 30}],
}
ROUTE_GOOGLE = {
    "id": "google-especialistas",
    "name": "Leads do Google vão para os especialistas",
    "when": {"field": "event.utm_source", "op": "eq", "value": "google"},
    "actions": [{"route": {"group": "especialistas-google"}}],
}


async def _save_rules(client: httpx.AsyncClient, *rules: dict[str, Any]) -> int:
    response = await client.post("/v1/rule-sets", json={"rules": list(rules)})
    assert response.status_code == 201, response.text
    return int(response.json()["version"])


async def _replay(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/ops/replays", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _events(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"limit": 200})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _by_id(leads: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {lead["id"]: lead for lead in leads}


@pytest.fixture
async def google_then_facebook(
    as_sales_manager: httpx.AsyncClient, anonymous: httpx.AsyncClient, worker: Dispatcher, sales: SalesTeam
) -> list[dict[str, Any]]:
    """Two leads created while the tenant had no rules: a Google one, then a Facebook one."""
    await convert(anonymous, worker, visitor(1, **GOOGLE), visitor(2, **FACEBOOK))
    leads = await leads_of(as_sales_manager)
    assert [(lead["source"], lead["tags"], lead["score"]) for lead in leads] == [("google", [], 0), ("facebook", [], 0)]
    return leads


class TestADryRun:
    async def test_it_reports_the_tags_and_score_the_new_rules_would_give(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        version = await _save_rules(as_sales_manager, TAG_GOOGLE)
        report = await _replay(as_sales_manager)
        google = google_then_facebook[0]
        assert (report["dry_run"], report["rule_set_version"], report["events_considered"]) == (True, version, 2)
        assert report["leads_changed"] == 1
        [change] = report["changes"]
        assert change["lead_id"] == google["id"]
        assert change["changes"] == {"tags": {"add": ["google-ads"], "remove": []}, "score": {"from": 0, "to": 30}}

    async def test_it_changes_nothing(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        await _save_rules(as_sales_manager, TAG_GOOGLE)
        await _replay(as_sales_manager)
        assert await leads_of(as_sales_manager) == google_then_facebook
        google = google_then_facebook[0]
        kinds = [d["kind"] for d in (await as_sales_manager.get(f"/v1/leads/{google['id']}/routing")).json()]
        assert kinds == ["new_lead"]

    async def test_the_source_filter_selects_the_events_replayed(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        await _save_rules(as_sales_manager, TAG_GOOGLE)
        report = await _replay(as_sales_manager, source="segment")
        assert (report["events_considered"], report["changes"]) == (0, [])


class TestApplying:
    async def test_it_changes_the_leads_and_records_the_rule_set_version(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        version = await _save_rules(as_sales_manager, TAG_GOOGLE)
        report = await _replay(as_sales_manager, dry_run=False)
        assert (report["dry_run"], report["leads_changed"]) == (False, 1)
        google, facebook = google_then_facebook
        now = _by_id(await leads_of(as_sales_manager))
        assert (now[google["id"]]["tags"], now[google["id"]]["score"]) == (["google-ads"], 30)
        assert now[facebook["id"]] == facebook
        decisions = (await as_sales_manager.get(f"/v1/leads/{google['id']}/routing")).json()
        assert [(d["kind"], d["rule_set_version"]) for d in decisions] == [("new_lead", 0), ("replay", version)]
        assert decisions[-1]["assignee_id"] is None  # the owner did not change

    async def test_a_second_apply_has_nothing_left_to_change(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        await _save_rules(as_sales_manager, TAG_GOOGLE)
        await _replay(as_sales_manager, dry_run=False)
        after_first = await leads_of(as_sales_manager)
        again = await _replay(as_sales_manager, dry_run=False)
        assert (again["leads_changed"], again["changes"]) == (0, [])
        assert await leads_of(as_sales_manager) == after_first

    async def test_a_rule_removed_takes_back_what_it_gave(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        await _save_rules(as_sales_manager, TAG_GOOGLE)
        await _replay(as_sales_manager, dry_run=False)
        await _save_rules(
            as_sales_manager, {**TAG_GOOGLE, "when": {"field": "event.utm_source", "op": "eq", "value": "x"}}
        )
        [change] = (await _replay(as_sales_manager, dry_run=False))["changes"]
        assert change["changes"] == {"tags": {"add": [], "remove": ["google-ads"]}, "score": {"from": 30, "to": 0}}
        google = _by_id(await leads_of(as_sales_manager))[google_then_facebook[0]["id"]]
        assert (google["tags"], google["score"]) == ([], 0)

    async def test_the_event_log_is_untouched(
        self, as_sales_manager: httpx.AsyncClient, google_then_facebook: list[dict[str, Any]]
    ) -> None:
        before = await _events(as_sales_manager)
        await _save_rules(as_sales_manager, TAG_GOOGLE)
        await _replay(as_sales_manager, dry_run=False)
        assert await _events(as_sales_manager) == before


class TestReRouting:
    @pytest.fixture
    async def specialist(
        self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam, google_then_facebook: list[dict[str, Any]]
    ) -> str:
        """The broker who did not get the Google lead becomes the team's only Google specialist."""
        google_owner = google_then_facebook[0]["owner_id"]
        [other] = [str(b.id) for b in sales.brokers if str(b.id) != google_owner]
        body = {"members": [{"user_id": other, "routing_groups": ["especialistas-google"]}]}
        response = await as_sales_manager.put(f"/v1/teams/{sales.team.id}/roleta", json=body)
        assert response.status_code == 200, response.text
        await _save_rules(as_sales_manager, ROUTE_GOOGLE)
        return other

    async def test_a_dry_run_names_the_new_owner_without_handing_the_lead_over(
        self,
        as_sales_manager: httpx.AsyncClient,
        google_then_facebook: list[dict[str, Any]],
        specialist: str,
        db: Database,
        tenant: Tenant,
    ) -> None:
        assigned_before = len(await outbox_of(db, tenant, "lead.assigned"))
        [change] = (await _replay(as_sales_manager))["changes"]
        google = google_then_facebook[0]
        owner = change["changes"]["owner"]
        assert (owner["from"], owner["to"]) == (google["owner_id"], specialist)
        assert owner["group"] == {"from": None, "to": "especialistas-google"}
        assert _by_id(await leads_of(as_sales_manager))[google["id"]]["owner_id"] == google["owner_id"]
        assert len(await outbox_of(db, tenant, "lead.assigned")) == assigned_before

    async def test_applying_hands_over_and_publishes_lead_assigned_only_for_that_lead(
        self,
        as_sales_manager: httpx.AsyncClient,
        google_then_facebook: list[dict[str, Any]],
        specialist: str,
        db: Database,
        tenant: Tenant,
    ) -> None:
        assigned_before = len(await outbox_of(db, tenant, "lead.assigned"))
        await _replay(as_sales_manager, dry_run=False)
        google, facebook = google_then_facebook
        now = _by_id(await leads_of(as_sales_manager))
        assert now[google["id"]]["owner_id"] == specialist
        assert now[facebook["id"]]["owner_id"] == facebook["owner_id"]
        published = (await outbox_of(db, tenant, "lead.assigned"))[assigned_before:]
        assert [(m.payload["lead_id"], m.payload["reason"]) for m in published] == [(google["id"], "replay")]
        last = (await as_sales_manager.get(f"/v1/leads/{google['id']}/routing")).json()[-1]
        assert (last["kind"], last["step"], last["assignee_id"]) == ("replay", "group", specialist)

    async def test_a_second_apply_publishes_nothing(
        self,
        as_sales_manager: httpx.AsyncClient,
        google_then_facebook: list[dict[str, Any]],
        specialist: str,
        db: Database,
        tenant: Tenant,
    ) -> None:
        await _replay(as_sales_manager, dry_run=False)
        assigned_before = len(await outbox_of(db, tenant, "lead.assigned"))
        again = await _replay(as_sales_manager, dry_run=False)
        assert again["leads_changed"] == 0
        assert len(await outbox_of(db, tenant, "lead.assigned")) == assigned_before


class TestReRoutingTakesTurns:
    async def test_leads_re_routed_in_one_replay_are_shared_within_the_group(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        db: Database,
        tenant: Tenant,
    ) -> None:
        await convert(anonymous, worker, *(visitor(n, **GOOGLE) for n in range(4)))
        specialists = [await factories.make_user(db, tenant, name=f"Especialista {n}") for n in (1, 2)]
        for user in specialists:
            response = await as_sales_manager.put(f"/v1/teams/{sales.team.id}/members/{user.id}")
            assert response.status_code == 204, response.text
        members = [{"user_id": str(user.id), "routing_groups": ["especialistas-google"]} for user in specialists]
        await as_sales_manager.put(f"/v1/teams/{sales.team.id}/roleta", json={"members": members})
        await _save_rules(as_sales_manager, ROUTE_GOOGLE)
        dry_run = await _replay(as_sales_manager)
        await _replay(as_sales_manager, dry_run=False)
        owners = [lead["owner_id"] for lead in await leads_of(as_sales_manager)]
        assert sorted(owners) == sorted([str(user.id) for user in specialists] * 2)
        assert [c["changes"]["owner"]["to"] for c in dry_run["changes"]] == owners

    async def test_leads_whose_owners_are_in_the_group_stay_with_them(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, **GOOGLE), visitor(2, **GOOGLE))
        before = await leads_of(as_sales_manager)
        assert {lead["owner_id"] for lead in before} == {str(b.id) for b in sales.brokers}
        members = [{"user_id": str(b.id), "routing_groups": ["especialistas-google"]} for b in sales.brokers]
        await as_sales_manager.put(f"/v1/teams/{sales.team.id}/roleta", json={"members": members})
        await _save_rules(as_sales_manager, ROUTE_GOOGLE)
        assert (await _replay(as_sales_manager, dry_run=False))["changes"] == []
        assert await leads_of(as_sales_manager) == before


class TestWhoMayReplay:
    async def test_a_broker_may_not(self, as_broker: httpx.AsyncClient) -> None:
        assert (await as_broker.post("/v1/ops/replays", json={})).status_code == 403
