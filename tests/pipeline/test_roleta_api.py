"""A team's roleta over HTTP: each member's weight, capacity and presence shape who gets the next lead, and the
stored explanation says who was skipped and why; the listing broker (captador) gets leads for their property."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import LeadForm, Role, Tenant, User
from tests import factories
from tests.pipeline.conftest import SalesTeam, convert, leads_of, visitor


async def _put_roleta(client: httpx.AsyncClient, sales: SalesTeam, *members: dict[str, Any]) -> httpx.Response:
    return await client.put(f"/v1/teams/{sales.team.id}/roleta", json={"members": list(members)})


async def _configure(client: httpx.AsyncClient, sales: SalesTeam, *members: dict[str, Any]) -> None:
    response = await _put_roleta(client, sales, *members)
    assert response.status_code == 200, response.text


def _ana_and_bruno(sales: SalesTeam) -> tuple[User, User]:
    ana, bruno = sales.brokers
    return ana, bruno


async def _team_step_of(client: httpx.AsyncClient, lead: dict[str, Any]) -> dict[str, Any]:
    [decision] = (await client.get(f"/v1/leads/{lead['id']}/routing")).json()
    return dict(next(step for step in decision["roleta"]["steps"] if step["step"] == "team"))


def _skipped(step: dict[str, Any]) -> dict[str, str | None]:
    return {check["name"]: check["skipped_because"] for check in step["considered"]}


class TestReadingAndWriting:
    async def test_a_new_team_has_even_weights_everyone_on_duty_and_the_default_sla(
        self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        response = await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")
        assert response.status_code == 200, response.text
        roleta = response.json()
        assert (roleta["name"], roleta["sla_minutes"], roleta["max_reroutes"]) == ("Vendas", 15, 2)
        members = {
            m["name"]: (m["weight"], m["capacity"], m["on_duty"], m["routing_groups"]) for m in roleta["members"]
        }
        assert members == {
            "Ana Corretora": (1, None, True, []),
            "Bruno Corretor": (1, None, True, []),
            "Gerente Vendas": (1, None, True, []),
        }

    async def test_settings_are_saved_and_members_not_named_keep_theirs(
        self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        shifts = {"mon": [{"start": "08:00", "end": "18:00"}]}
        await _configure(as_sales_manager, sales, {"user_id": str(bruno.id), "weight": 5})
        body = {
            "sla_minutes": 30,
            "max_reroutes": 1,
            "members": [
                {"user_id": str(ana.id), "weight": 2, "capacity": 4, "working_hours": shifts, "routing_groups": ["zs"]}
            ],
        }
        response = await as_sales_manager.put(f"/v1/teams/{sales.team.id}/roleta", json=body)
        assert response.status_code == 200, response.text
        again = (await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")).json()
        assert again == response.json()
        assert (again["sla_minutes"], again["max_reroutes"]) == (30, 1)
        members = {m["name"]: m for m in again["members"]}
        assert members["Ana Corretora"]["working_hours"] == {"mon": [{"start": "08:00:00", "end": "18:00:00"}]}
        assert (members["Ana Corretora"]["capacity"], members["Ana Corretora"]["routing_groups"]) == (4, ["zs"])
        assert members["Bruno Corretor"]["weight"] == 5

    async def test_a_weight_change_keeps_what_was_not_sent(
        self, app: FastAPI, tenant: Tenant, as_sales_manager: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        ana, _ = _ana_and_bruno(sales)
        shifts = {"sat": [{"start": "09:00", "end": "13:00"}]}
        body = {"sla_minutes": 5, "max_reroutes": 1, "members": [{"user_id": str(ana.id), "routing_groups": ["zs"]}]}
        await as_sales_manager.put(f"/v1/teams/{sales.team.id}/roleta", json=body)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "capacity": 3, "working_hours": shifts})
        async with factories.logged_in(app, tenant, ana) as as_ana:
            await as_ana.put("/v1/me/duty", json={"on_duty": False})
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 2})
        roleta = (await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")).json()
        assert (roleta["sla_minutes"], roleta["max_reroutes"]) == (5, 1)
        member = next(m for m in roleta["members"] if m["name"] == "Ana Corretora")
        assert (member["weight"], member["capacity"], member["on_duty"], member["routing_groups"]) == (
            2,
            3,
            False,
            ["zs"],
        )
        assert member["working_hours"] == {"sat": [{"start": "09:00:00", "end": "13:00:00"}]}

    async def test_a_null_capacity_lifts_the_limit(self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam) -> None:
        ana, _ = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "capacity": 3})
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "capacity": None})
        roleta = (await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")).json()
        assert next(m["capacity"] for m in roleta["members"] if m["name"] == "Ana Corretora") is None

    async def test_a_user_who_is_not_a_member_is_a_422_naming_the_entry(
        self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam, broker: User
    ) -> None:
        ana, _ = _ana_and_bruno(sales)
        response = await _put_roleta(
            as_sales_manager, sales, {"user_id": str(ana.id), "weight": 3}, {"user_id": str(broker.id)}
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["members.1.user_id"]
        roleta = (await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")).json()
        assert {m["name"]: m["weight"] for m in roleta["members"]}["Ana Corretora"] == 1

    async def test_an_unknown_team_is_a_404(self, as_manager: httpx.AsyncClient) -> None:
        assert (await as_manager.get(f"/v1/teams/{uuid.uuid4()}/roleta")).status_code == 404
        put = await as_manager.put(f"/v1/teams/{uuid.uuid4()}/roleta", json={"members": []})
        assert put.status_code == 404

    async def test_a_broker_may_not_see_or_change_it(self, as_broker: httpx.AsyncClient, sales: SalesTeam) -> None:
        assert (await as_broker.get(f"/v1/teams/{sales.team.id}/roleta")).status_code == 403
        assert (await _put_roleta(as_broker, sales)).status_code == 403

    async def test_another_tenants_team_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, sales: SalesTeam
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER)
        async with factories.logged_in(app, other_tenant, rival) as client:
            assert (await client.get(f"/v1/teams/{sales.team.id}/roleta")).status_code == 404


class TestPreview:
    async def test_names_who_gets_the_next_leads_and_the_next_real_lead_goes_there(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        _, bruno = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(bruno.id), "weight": 2})
        response = await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta/preview", params={"count": 3})
        assert response.status_code == 200, response.text
        upcoming = response.json()["next_leads"]
        assert [lead["position"] for lead in upcoming] == [1, 2, 3]
        assert sorted(lead["name"] for lead in upcoming) == ["Ana Corretora", "Bruno Corretor", "Bruno Corretor"]
        again = await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta/preview", params={"count": 3})
        assert again.json()["next_leads"] == upcoming  # a preview assigns and records nothing
        await convert(anonymous, worker, visitor(1))
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] == upcoming[0]["user_id"]

    async def test_with_every_broker_off_duty_the_next_lead_goes_to_the_manager(
        self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        off = [{"user_id": str(who.id), "on_duty": False} for who in (ana, bruno)]
        await _configure(as_sales_manager, sales, *off)
        response = await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta/preview", params={"count": 1})
        [first] = response.json()["next_leads"]
        assert (first["name"], first["step"]) == ("Gerente Vendas", "manager")

    async def test_a_count_out_of_range_is_refused(self, as_sales_manager: httpx.AsyncClient, sales: SalesTeam) -> None:
        response = await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta/preview", params={"count": 99})
        assert response.status_code == 422

    async def test_another_tenants_team_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, sales: SalesTeam
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER)
        async with factories.logged_in(app, other_tenant, rival) as client:
            assert (await client.get(f"/v1/teams/{sales.team.id}/roleta/preview")).status_code == 404


class TestWeights:
    async def test_a_weight_of_two_gets_twice_the_share(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 2})
        await convert(anonymous, worker, *(visitor(n) for n in range(6)))
        owners = [lead["owner_id"] for lead in await leads_of(as_sales_manager)]
        assert (owners.count(str(ana.id)), owners.count(str(bruno.id))) == (4, 2)


class TestCapacity:
    async def test_a_broker_at_capacity_is_skipped_with_the_reason(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 3, "capacity": 1})
        await convert(anonymous, worker, visitor(1), visitor(2))
        first, second = await leads_of(as_sales_manager)
        assert (first["owner_id"], second["owner_id"]) == (str(ana.id), str(bruno.id))
        step = await _team_step_of(as_sales_manager, second)
        assert _skipped(step)["Ana Corretora"] == "at_capacity"
        assert next(c["open_leads"] for c in step["considered"] if c["name"] == "Ana Corretora") == 1

    async def test_answering_a_lead_frees_the_place(
        self,
        app: FastAPI,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        ana, _ = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 3, "capacity": 1})
        await convert(anonymous, worker, visitor(1))
        [first] = await leads_of(as_sales_manager)
        async with factories.logged_in(app, tenant, ana) as as_ana:
            answer = {"lead_id": first["id"], "channel": "call", "direction": "outbound"}
            assert (await as_ana.post("/v1/interactions", json=answer)).status_code == 201
        await convert(anonymous, worker, visitor(2))
        assert (await leads_of(as_sales_manager))[1]["owner_id"] == str(ana.id)


class TestDuty:
    async def test_a_broker_off_duty_is_skipped_with_the_reason(
        self,
        app: FastAPI,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 3})
        async with factories.logged_in(app, tenant, ana) as as_ana:
            response = await as_ana.put("/v1/me/duty", json={"on_duty": False})
            assert (response.status_code, response.json()) == (200, {"on_duty": False})
        await convert(anonymous, worker, visitor(1))
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] == str(bruno.id)
        assert _skipped(await _team_step_of(as_sales_manager, lead))["Ana Corretora"] == "off_duty"

    async def test_back_on_duty_the_broker_takes_leads_again(
        self,
        app: FastAPI,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        ana, _ = _ana_and_bruno(sales)
        await _configure(as_sales_manager, sales, {"user_id": str(ana.id), "weight": 3})
        async with factories.logged_in(app, tenant, ana) as as_ana:
            await as_ana.put("/v1/me/duty", json={"on_duty": False})
            await as_ana.put("/v1/me/duty", json={"on_duty": True})
        roleta = (await as_sales_manager.get(f"/v1/teams/{sales.team.id}/roleta")).json()
        assert {m["name"]: m["on_duty"] for m in roleta["members"]}["Ana Corretora"] is True
        await convert(anonymous, worker, visitor(1))
        assert (await leads_of(as_sales_manager))[0]["owner_id"] == str(ana.id)


class TestListingBroker:
    async def _form_for_property_of(self, db: Database, tenant: Tenant, sales: SalesTeam, captador: User) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0777", listing_broker_id=captador.id)
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(LeadForm(key="ap-0777", name="AP-0777", team_id=sales.team.id, property_id=prop.id))

    async def test_a_lead_for_a_property_goes_to_its_captador(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        db: Database,
        tenant: Tenant,
    ) -> None:
        captador = await factories.make_user(db, tenant, role=Role.BROKER, name="Carla Captadora")
        await self._form_for_property_of(db, tenant, sales, captador)
        assert (await anonymous.post("/v1/forms/ap-0777", json=visitor(1))).status_code == 202
        await convert(anonymous, worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] == str(captador.id)
        [decision] = (await as_sales_manager.get(f"/v1/leads/{lead['id']}/routing")).json()
        assert (decision["step"], decision["assignee_id"]) == ("listing_broker", str(captador.id))
        assert "captador" in decision["why"]

    async def test_a_landing_page_naming_the_property_on_a_general_form_sends_the_lead_to_its_captador(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        db: Database,
        tenant: Tenant,
    ) -> None:
        captador = await factories.make_user(db, tenant, role=Role.BROKER, name="Carla Captadora")
        prop = await factories.make_property(db, tenant, reference="AP-0778", listing_broker_id=captador.id)
        await convert(anonymous, worker, visitor(1, property_reference="ap-0778"))
        [lead] = await leads_of(as_sales_manager)
        assert (lead["property_id"], lead["owner_id"]) == (str(prop.id), str(captador.id))
        [decision] = (await as_sales_manager.get(f"/v1/leads/{lead['id']}/routing")).json()
        assert decision["step"] == "listing_broker"

    async def test_a_reference_the_tenant_does_not_have_leaves_the_lead_to_the_roleta(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, property_reference="NAO-EXISTE"))
        [lead] = await leads_of(as_sales_manager)
        assert lead["property_id"] is None
        assert lead["owner_id"] in {str(member.id) for member in _ana_and_bruno(sales)}

    async def test_a_captador_off_duty_leaves_the_lead_to_the_team(
        self,
        app: FastAPI,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        db: Database,
        tenant: Tenant,
    ) -> None:
        ana, bruno = _ana_and_bruno(sales)
        await self._form_for_property_of(db, tenant, sales, bruno)
        async with factories.logged_in(app, tenant, bruno) as as_bruno:
            await as_bruno.put("/v1/me/duty", json={"on_duty": False})
        await anonymous.post("/v1/forms/ap-0777", json=visitor(1))
        await convert(anonymous, worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] == str(ana.id)
        [decision] = (await as_sales_manager.get(f"/v1/leads/{lead['id']}/routing")).json()
        listing = decision["roleta"]["steps"][0]
        assert (listing["step"], listing["outcome"]) == ("listing_broker", "nobody_available")
        assert listing["considered"][0]["skipped_because"] == "off_duty"
