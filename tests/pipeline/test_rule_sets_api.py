"""The tenant's rules over HTTP: saved as new versions, never edited; invalid rules refused naming the field; a
preview runs them against a sample; the newest version places, tags, scores and times every new lead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.time import utcnow
from tests.pipeline.conftest import SalesTeam, convert, leads_of, visitor

GOOGLE_RULE = {
    "id": "google-ads",
    "name": "Leads do Google",
    "when": {"field": "event.utm_source", "op": "eq", "value": "google"},
    "actions": [{"tag": "google-ads"}, {"score": 25}],
}


def _rule(**overrides: Any) -> dict[str, Any]:
    return {**GOOGLE_RULE, **overrides}


async def _save(client: httpx.AsyncClient, *rules: dict[str, Any], note: str | None = None) -> httpx.Response:
    return await client.post("/v1/rule-sets", json={"rules": list(rules), "note": note})


def _error_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["field"] for error in response.json()["errors"]]


class TestVersions:
    async def test_each_save_is_the_next_version(self, as_manager: httpx.AsyncClient) -> None:
        first = await _save(as_manager, GOOGLE_RULE, note="primeira")
        second = await _save(as_manager, _rule(actions=[{"score": 5}]))
        assert (first.status_code, second.status_code) == (201, 201)
        assert (first.json()["version"], second.json()["version"]) == (1, 2)
        assert first.json()["note"] == "primeira"

    async def test_the_list_shows_the_newest_first(self, as_manager: httpx.AsyncClient) -> None:
        for score in (1, 2, 3):
            await _save(as_manager, _rule(actions=[{"score": score}]))
        listed = (await as_manager.get("/v1/rule-sets")).json()["items"]
        assert [row["version"] for row in listed] == [3, 2, 1]

    async def test_an_old_version_is_read_back_as_saved(self, as_manager: httpx.AsyncClient) -> None:
        await _save(as_manager, GOOGLE_RULE)
        await _save(as_manager, _rule(actions=[{"score": 5}]))
        response = await as_manager.get("/v1/rule-sets/1")
        assert response.status_code == 200
        [rule] = response.json()["rules"]
        assert rule["actions"] == [{"tag": "google-ads"}, {"score": 25}]
        assert rule["when"] == {"field": "event.utm_source", "op": "eq", "value": "google"}

    async def test_a_version_never_saved_is_a_404(self, as_manager: httpx.AsyncClient) -> None:
        await _save(as_manager, GOOGLE_RULE)
        assert (await as_manager.get("/v1/rule-sets/2")).status_code == 404


class TestInvalidRules:
    async def test_an_unknown_operator_names_the_rule_and_field(self, as_manager: httpx.AsyncClient) -> None:
        response = await _save(as_manager, _rule(when={"field": "event.utm_source", "op": "like", "value": "g"}))
        assert any(field.startswith("rules.0.when") for field in _error_fields(response))

    async def test_an_action_without_a_known_key_names_the_action(self, as_manager: httpx.AsyncClient) -> None:
        response = await _save(as_manager, GOOGLE_RULE, _rule(id="outra", actions=[{"assign": "ana"}]))
        assert any(field.startswith("rules.1.actions.0") for field in _error_fields(response))

    async def test_a_negative_sla_names_the_field(self, as_manager: httpx.AsyncClient) -> None:
        response = await _save(as_manager, _rule(actions=[{"sla_minutes": -5}]))
        assert any(field.startswith("rules.0.actions.0") for field in _error_fields(response))

    async def test_a_repeated_rule_id_names_the_second_rule(self, as_manager: httpx.AsyncClient) -> None:
        response = await _save(as_manager, GOOGLE_RULE, _rule(name="Outra com o mesmo id"))
        assert _error_fields(response) == ["rules.1.id"]

    async def test_nothing_is_saved(self, as_manager: httpx.AsyncClient) -> None:
        await _save(as_manager, _rule(actions=[]))
        assert (await as_manager.get("/v1/rule-sets")).json()["items"] == []


class TestPreview:
    async def test_it_returns_the_outcome_with_every_decision(self, as_manager: httpx.AsyncClient) -> None:
        facebook = _rule(id="facebook", when={"field": "event.utm_source", "op": "eq", "value": "facebook"})
        body = {"rules": [GOOGLE_RULE, facebook], "facts": {"event": {"utm_source": "google"}}}
        response = await as_manager.post("/v1/rule-sets/preview", json=body)
        assert response.status_code == 200, response.text
        outcome = response.json()
        assert (outcome["tags"], outcome["score_delta"]) == (["google-ads"], 25)
        assert [(d["rule_id"], d["matched"]) for d in outcome["decisions"]] == [
            ("google-ads", True),
            ("facebook", False),
        ]
        assert outcome["decisions"][1]["explanation"]["actual"] == "google"

    async def test_a_draft_with_a_repeated_rule_id_is_a_422(self, as_manager: httpx.AsyncClient) -> None:
        body = {"rules": [GOOGLE_RULE, GOOGLE_RULE], "facts": {}}
        assert _error_fields(await as_manager.post("/v1/rule-sets/preview", json=body)) == ["rules.1.id"]

    async def test_without_rules_it_runs_the_saved_ones(self, as_manager: httpx.AsyncClient) -> None:
        await _save(as_manager, GOOGLE_RULE)
        body = {"facts": {"event": {"utm_source": "google"}}}
        outcome = (await as_manager.post("/v1/rule-sets/preview", json=body)).json()
        assert (outcome["rule_set_version"], outcome["tags"]) == (1, ["google-ads"])

    async def test_a_time_of_day_rule_is_judged_at_the_moment_given(self, as_manager: httpx.AsyncClient) -> None:
        night = _rule(when={"time_of_day": {"from": "22:00", "to": "06:00"}}, actions=[{"tag": "madrugada"}])
        at_3am_in_sao_paulo = "2026-11-23T03:00:00-03:00"
        body = {"rules": [night], "facts": {}, "at": at_3am_in_sao_paulo}
        assert (await as_manager.post("/v1/rule-sets/preview", json=body)).json()["tags"] == ["madrugada"]
        body["at"] = "2026-11-23T15:00:00-03:00"
        assert (await as_manager.post("/v1/rule-sets/preview", json=body)).json()["tags"] == []


async def _refused_everything(client: httpx.AsyncClient) -> None:
    assert (await _save(client, GOOGLE_RULE)).status_code == 403
    assert (await client.get("/v1/rule-sets")).status_code == 403
    assert (await client.get("/v1/rule-sets/1")).status_code == 403
    assert (await client.post("/v1/rule-sets/preview", json={"facts": {}})).status_code == 403


class TestWhoMayManageRules:
    async def test_a_broker_may_not(self, as_broker: httpx.AsyncClient) -> None:
        await _refused_everything(as_broker)

    async def test_a_viewer_may_not(self, as_viewer: httpx.AsyncClient) -> None:
        await _refused_everything(as_viewer)

    async def test_an_owner_may(self, as_owner: httpx.AsyncClient) -> None:
        assert (await _save(as_owner, GOOGLE_RULE)).status_code == 201


class TestRulesShapeNewLeads:
    async def test_set_places_the_lead_in_the_named_pipeline_stage_and_temperature(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        pipeline = {"name": "Lançamentos", "stages": [{"name": "Novo"}, {"name": "Visita agendada"}]}
        created = await as_sales_manager.post("/v1/pipelines", json=pipeline)
        assert created.status_code == 201, created.text
        hot = _rule(actions=[{"set": {"pipeline": "Lançamentos", "stage": "Visita agendada", "temperature": "quente"}}])
        await _save(as_sales_manager, hot)
        await convert(anonymous, worker, visitor(1, utm_source="google"))
        [lead] = await leads_of(as_sales_manager)
        stage = next(s for s in created.json()["stages"] if s["name"] == "Visita agendada")
        assert (lead["pipeline_id"], lead["stage_id"]) == (created.json()["id"], stage["id"])
        assert lead["temperature"] == "quente"

    async def test_a_lead_the_rule_does_not_match_takes_the_defaults(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await _save(as_sales_manager, _rule(actions=[{"set": {"stage": "Contato", "temperature": "quente"}}]))
        await convert(anonymous, worker, visitor(1, utm_source="facebook"))
        [lead] = await leads_of(as_sales_manager)
        novo = (await as_sales_manager.get(f"/v1/pipelines/{sales.pipeline.id}")).json()["stages"][0]
        assert (lead["pipeline_id"], lead["stage_id"]) == (str(sales.pipeline.id), novo["id"])
        assert (lead["temperature"], lead["tags"], lead["score"]) == (None, [], 0)

    async def test_tags_and_score_are_given_to_the_new_lead(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await _save(as_sales_manager, GOOGLE_RULE)
        await convert(anonymous, worker, visitor(1, utm_source="google"))
        [lead] = await leads_of(as_sales_manager)
        assert (lead["tags"], lead["score"]) == (["google-ads"], 25)
        [decision] = (await as_sales_manager.get(f"/v1/leads/{lead['id']}/routing")).json()
        assert decision["rule_set_version"] == 1
        assert decision["rules"]["decisions"][0]["matched"] is True

    async def test_sla_minutes_set_the_first_response_deadline(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await _save(as_sales_manager, _rule(actions=[{"sla_minutes": 3}]))
        before = utcnow()
        await convert(anonymous, worker, visitor(1, utm_source="google"))
        [lead] = await leads_of(as_sales_manager)
        due = datetime.fromisoformat(lead["first_response_due_at"])
        assert before + timedelta(minutes=3) <= due <= utcnow() + timedelta(minutes=3)
