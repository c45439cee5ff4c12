"""Who sees which leads, enforced by the session scope: a broker their own (and the pool when the tenant opens it),
a manager their teams', owners, viewers and API keys every lead; what is not seen is a 404 everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.lead import service
from leadflow.lead.schemas import LeadFilters, LeadSort
from leadflow.lead.visibility import POOL_SETTING
from leadflow.models import Lead, Role, Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel, set_tenant_settings, user_scope


@dataclass
class Office:
    """Two teams: Ana's (with the manager) and Bruno's; leads of each, a team-only lead and the pool."""

    anas: Lead
    brunos: Lead
    team_lead: Lead  # no owner, assigned to the manager's team
    pool: Lead  # no owner, no team
    bruno: User
    funnel: DefaultFunnel


@pytest.fixture
async def office(db: Database, tenant: Tenant, broker: User, manager: User) -> Office:
    funnel = await make_default_funnel(db, tenant)
    bruno = await factories.make_user(db, tenant, role=Role.BROKER, name="Bruno Oliveira")
    team = await factories.make_team(db, tenant, "Pinheiros", [manager, broker])
    await factories.make_team(db, tenant, "Campinas", [bruno])
    novo = funnel.stage("Novo")
    return Office(
        anas=await lead_in(db, tenant, novo, owner=broker, name="Cliente da Ana", phone="11 98765-4321"),
        brunos=await lead_in(db, tenant, novo, owner=bruno, name="Cliente do Bruno", phone="19 99876-5432"),
        team_lead=await lead_in(db, tenant, novo, team_id=team.id, name="Cliente da equipe"),
        pool=await lead_in(db, tenant, novo, name="Cliente sem dono"),
        bruno=bruno,
        funnel=funnel,
    )


async def _listed(client: httpx.AsyncClient, **params: str) -> set[str]:
    response = await client.get("/v1/leads", params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def _ids(*leads: Lead) -> set[str]:
    return {str(lead.id) for lead in leads}


class TestABroker:
    async def test_lists_only_their_own_leads(self, as_broker: httpx.AsyncClient, office: Office) -> None:
        assert await _listed(as_broker) == _ids(office.anas)
        assert await _listed(as_broker, q="19 99876-5432") == set()

    async def test_gets_404_on_another_brokers_lead_on_every_route(
        self, as_broker: httpx.AsyncClient, office: Office
    ) -> None:
        lead_id = office.brunos.id
        novo = office.funnel.stage("Em atendimento")
        for method, path, body in [
            ("GET", f"/v1/leads/{lead_id}", None),
            ("PATCH", f"/v1/leads/{lead_id}", {"title": "meu"}),
            ("POST", f"/v1/leads/{lead_id}/move", {"stage_id": str(novo.id)}),
            ("GET", f"/v1/leads/{lead_id}/history", None),
            ("GET", f"/v1/leads/{lead_id}/timeline", None),
        ]:
            response = await as_broker.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert "Cliente do Bruno" not in response.text

    async def test_cannot_claim_a_pool_lead_while_the_pool_is_closed(
        self, as_broker: httpx.AsyncClient, office: Office, broker: User
    ) -> None:
        response = await as_broker.post(f"/v1/leads/{office.pool.id}/assign", json={"owner_id": str(broker.id)})
        assert response.status_code == 404


class TestTheOpenPool:
    @pytest.fixture
    async def pool_open(self, db: Database, tenant: Tenant, office: Office) -> None:
        await set_tenant_settings(db, tenant, **{POOL_SETTING: True})

    async def test_a_broker_also_sees_and_claims_unassigned_leads(
        self, app: FastAPI, tenant: Tenant, broker: User, office: Office, pool_open: None
    ) -> None:
        async with factories.logged_in(app, tenant, broker) as as_broker:
            assert await _listed(as_broker) == _ids(office.anas, office.team_lead, office.pool)
            claimed = await as_broker.post(f"/v1/leads/{office.pool.id}/assign", json={"owner_id": str(broker.id)})
            assert claimed.status_code == 200, claimed.text
            assert (await as_broker.get(f"/v1/leads/{office.brunos.id}")).status_code == 404

    async def test_the_setting_is_read_from_the_scope(self, db: Database, tenant: Tenant, office: Office) -> None:
        bruno = office.bruno
        closed, opened = user_scope(tenant, bruno), user_scope(tenant, bruno, **{POOL_SETTING: True})
        assert await _visible(db, closed) == _ids(office.brunos)
        assert await _visible(db, opened) == _ids(office.brunos, office.team_lead, office.pool)


async def _visible(db: Database, scope: Scope) -> set[str]:
    async with db.session(scope) as session:
        items, _ = await service.list_leads(
            session, scope, filters=LeadFilters(), sort=LeadSort.CREATED_DESC, cursor=None, limit=50
        )
    return {str(item.id) for item in items}


class TestAManager:
    async def test_sees_their_teams_leads_their_own_and_the_unrouted_inbox(
        self, as_manager: httpx.AsyncClient, office: Office
    ) -> None:
        assert await _listed(as_manager) == _ids(office.anas, office.team_lead, office.pool)
        assert (await as_manager.get(f"/v1/leads/{office.brunos.id}")).status_code == 404

    async def test_without_teams_sees_only_their_own_and_the_inbox(
        self, db: Database, tenant: Tenant, office: Office
    ) -> None:
        other_manager = await factories.make_user(db, tenant, role=Role.MANAGER)
        assert await _visible(db, user_scope(tenant, other_manager)) == _ids(office.pool)

    async def test_a_lead_handed_outside_their_teams_leaves_their_view(
        self, as_manager: httpx.AsyncClient, office: Office
    ) -> None:
        response = await as_manager.post(f"/v1/leads/{office.pool.id}/assign", json={"owner_id": str(office.bruno.id)})
        assert response.status_code == 200
        assert str(office.pool.id) not in await _listed(as_manager)


class TestEveryoneElse:
    async def test_an_owner_sees_every_lead(self, as_owner: httpx.AsyncClient, office: Office) -> None:
        assert await _listed(as_owner) == _ids(office.anas, office.brunos, office.team_lead, office.pool)

    async def test_a_viewer_sees_every_lead_and_changes_none(
        self, as_viewer: httpx.AsyncClient, office: Office
    ) -> None:
        assert await _listed(as_viewer) == _ids(office.anas, office.brunos, office.team_lead, office.pool)
        response = await as_viewer.patch(f"/v1/leads/{office.brunos.id}", json={"title": "x"})
        assert response.status_code == 403

    async def test_an_api_key_sees_every_lead(self, app: FastAPI, db: Database, tenant: Tenant, office: Office) -> None:
        _, key = await factories.make_key(db, tenant, scopes=["read"])
        async with factories.client(app, tenant, token=key) as c:
            assert await _listed(c) == _ids(office.anas, office.brunos, office.team_lead, office.pool)


class TestOtherFeaturesInherit:
    async def test_a_brokers_timeline_and_matches_follow_the_rule(
        self, as_broker: httpx.AsyncClient, office: Office
    ) -> None:
        assert (await as_broker.get(f"/v1/leads/{office.anas.id}/timeline")).status_code == 200
        assert (await as_broker.get(f"/v1/leads/{office.brunos.id}/matches")).status_code == 404
