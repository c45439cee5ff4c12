"""The lead list: every filter, text search over name, e-mail and phone typed in any format, sorting, and keyset
pagination whose cursor stays stable while leads are added; a page costs the same queries however many leads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Lead, LeadStatus, Temperature, Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, counting_statements, lead_in, make_default_funnel, set_lead


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


async def _ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/v1/leads", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestFilters:
    async def test_by_pipeline_stage_owner_and_team(
        self,
        as_owner: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
        broker: User,
        manager: User,
    ) -> None:
        team = await factories.make_team(db, tenant, "Vendas", [broker])
        new = await lead_in(db, tenant, funnel.stage("Novo"), owner=broker)
        visiting = await lead_in(db, tenant, funnel.stage("Visita agendada"), owner=manager, team_id=team.id)
        unassigned = await lead_in(db, tenant, funnel.stage("Novo"))
        rental = await lead_in(db, tenant, funnel.rental_stages["Novo"])
        assert await _ids(as_owner, pipeline_id=str(funnel.locacao.id)) == [str(rental.id)]
        assert await _ids(as_owner, stage_id=str(funnel.stage("Visita agendada").id)) == [str(visiting.id)]
        assert await _ids(as_owner, owner_id=str(broker.id)) == [str(new.id)]
        assert await _ids(as_owner, owner_id="none") == [str(rental.id), str(unassigned.id)]
        assert await _ids(as_owner, team_id=str(team.id)) == [str(visiting.id)]
        both = await _ids(as_owner, stage_id=str(funnel.stage("Novo").id), owner_id=str(broker.id))
        assert both == [str(new.id)]

    async def test_by_person_and_by_the_property_or_development_asked_about(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        listing = await factories.make_property(db, tenant)
        maria = await factories.make_person(db, tenant, name="Maria Silva")
        first = await factories.make_lead(db, tenant, person=maria, stage=funnel.stage("Novo"), property_id=listing.id)
        again = await factories.make_lead(db, tenant, person=maria, stage=funnel.stage("Novo"))
        await lead_in(db, tenant, funnel.stage("Novo"), name="Outra Pessoa")
        assert sorted(await _ids(as_owner, person_id=str(maria.id))) == sorted([str(first.id), str(again.id)])
        assert await _ids(as_owner, property_id=str(listing.id)) == [str(first.id)]
        assert await _ids(as_owner, development_id=str(listing.id)) == []

    async def test_by_status_source_channel_campaign_tag_and_temperature(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        hot = await lead_in(
            db,
            tenant,
            funnel.stage("Novo"),
            source="portal_zap",
            channel="Paid Search",
            utm_campaign="aurora-2026",
            tags=["investidor", "zona-sul"],
            temperature=Temperature.HOT,
        )
        won = await lead_in(
            db, tenant, funnel.stage("Ganho"), status=LeadStatus.WON, source="site", tags=["zona-sul-2"]
        )
        assert await _ids(as_owner, status="won") == [str(won.id)]
        assert await _ids(as_owner, source="portal_zap") == [str(hot.id)]
        assert await _ids(as_owner, channel="Paid Search") == [str(hot.id)]
        assert await _ids(as_owner, campaign="aurora-2026") == [str(hot.id)]
        assert await _ids(as_owner, tag="zona-sul") == [str(hot.id)]  # a whole tag, not a prefix
        assert await _ids(as_owner, temperature="quente") == [str(hot.id)]
        assert await _ids(as_owner, tag="nenhuma") == []

    async def test_by_creation_and_update_ranges(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        now = utcnow()
        old = await lead_in(db, tenant, funnel.stage("Novo"))
        await set_lead(db, tenant, old, created_at=now - timedelta(days=40), updated_at=now - timedelta(days=30))
        recent = await lead_in(db, tenant, funnel.stage("Novo"))
        cutoff = (now - timedelta(days=7)).isoformat()
        assert await _ids(as_owner, created_from=cutoff) == [str(recent.id)]
        assert await _ids(as_owner, created_to=cutoff) == [str(old.id)]
        assert await _ids(as_owner, updated_to=cutoff) == [str(old.id)]
        assert await _ids(as_owner, updated_from=cutoff) == [str(recent.id)]

    async def test_overdue_follow_up_and_sla_breached(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        now = utcnow()
        overdue = await lead_in(db, tenant, funnel.stage("Novo"), next_follow_up_at=now - timedelta(hours=1))
        await lead_in(db, tenant, funnel.stage("Novo"), next_follow_up_at=now + timedelta(hours=1))
        breached = await lead_in(db, tenant, funnel.stage("Novo"), first_response_due_at=now - timedelta(minutes=5))
        answered = await lead_in(
            db,
            tenant,
            funnel.stage("Novo"),
            first_response_due_at=now - timedelta(minutes=5),
            first_responded_at=now - timedelta(minutes=10),
        )
        assert await _ids(as_owner, overdue_follow_up="true") == [str(overdue.id)]
        assert str(overdue.id) not in await _ids(as_owner, overdue_follow_up="false")
        assert await _ids(as_owner, sla_breached="true") == [str(breached.id)]
        not_breached = await _ids(as_owner, sla_breached="false")
        assert str(answered.id) in not_breached
        assert str(breached.id) not in not_breached

    async def test_an_unknown_filter_value_is_a_422(self, as_owner: httpx.AsyncClient) -> None:
        assert (await as_owner.get("/v1/leads", params={"owner_id": "ninguém"})).status_code == 422
        assert (await as_owner.get("/v1/leads", params={"status": "perdido"})).status_code == 422


class TestTextSearch:
    @pytest.fixture
    async def maria(self, db: Database, tenant: Tenant, funnel: DefaultFunnel) -> Lead:
        return await lead_in(
            db,
            tenant,
            funnel.stage("Novo"),
            name="Maria Conceição",
            phone="+5511987654321",
            email="maria.conceicao@gmail.com",
        )

    @pytest.fixture
    async def someone_else(self, db: Database, tenant: Tenant, funnel: DefaultFunnel) -> Lead:
        return await lead_in(db, tenant, funnel.stage("Novo"), name="Pedro Alves", phone="(21) 3456-7890")

    @pytest.mark.parametrize("typed", ["(11) 98765-4321", "11 98765 4321", "987654321", "+55 11 8765-4321"])
    async def test_a_phone_in_any_format_finds_the_lead(
        self, as_owner: httpx.AsyncClient, maria: Lead, someone_else: Lead, typed: str
    ) -> None:
        assert await _ids(as_owner, q=typed) == [str(maria.id)]

    @pytest.mark.parametrize("typed", ["maria conceicao", "MARIA", "conceição", "maria.conceicao@gmail", "GMAIL.COM"])
    async def test_the_name_or_e_mail_finds_the_lead(
        self, as_owner: httpx.AsyncClient, maria: Lead, someone_else: Lead, typed: str
    ) -> None:
        assert await _ids(as_owner, q=typed) == [str(maria.id)]

    async def test_search_combines_with_filters(
        self, as_owner: httpx.AsyncClient, maria: Lead, funnel: DefaultFunnel
    ) -> None:
        assert await _ids(as_owner, q="maria", stage_id=str(funnel.stage("Ganho").id)) == []

    async def test_the_list_shows_the_persons_contact(self, as_owner: httpx.AsyncClient, maria: Lead) -> None:
        item = (await as_owner.get("/v1/leads")).json()["items"][0]
        assert (item["person_name"], item["person_phone"], item["person_email"]) == (
            "Maria Conceição",
            "+5511987654321",
            "maria.conceicao@gmail.com",
        )


class TestSortingAndPagination:
    async def test_pages_do_not_repeat_or_skip_while_leads_arrive(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        leads = [await lead_in(db, tenant, funnel.stage("Novo"), name=f"Cliente {i}") for i in range(5)]
        first = (await as_owner.get("/v1/leads", params={"limit": 2})).json()
        await lead_in(db, tenant, funnel.stage("Novo"), name="Chegou agora")
        seen = [item["id"] for item in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = (await as_owner.get("/v1/leads", params={"limit": 2, "cursor": cursor})).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
        assert seen == [str(lead.id) for lead in reversed(leads)]

    async def test_oldest_first_and_by_update(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        a = await lead_in(db, tenant, funnel.stage("Novo"))
        b = await lead_in(db, tenant, funnel.stage("Novo"))
        await set_lead(db, tenant, a, title="editado")
        assert await _ids(as_owner, sort="created_at") == [str(a.id), str(b.id)]
        assert await _ids(as_owner, sort="-updated_at") == [str(a.id), str(b.id)]
        assert await _ids(as_owner, sort="updated_at") == [str(b.id), str(a.id)]

    async def test_by_value_with_unvalued_leads_last_both_ways_across_pages(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        values = [300_000_00, None, 900_000_00, 300_000_00, 150_000_00]
        for value in values:
            await lead_in(db, tenant, funnel.stage("Novo"), value_cents=value)

        async def walk(sort: str) -> list[int | None]:
            found: list[int | None] = []
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
                page = (await as_owner.get("/v1/leads", params=params)).json()
                found += [item["value_cents"] for item in page["items"]]
                if not (cursor := page["next_cursor"]):
                    return found

        assert await walk("-value_cents") == [900_000_00, 300_000_00, 300_000_00, 150_000_00, None]
        assert await walk("value_cents") == [150_000_00, 300_000_00, 300_000_00, 900_000_00, None]

    async def test_a_cursor_of_another_sort_is_a_bad_request(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        for _ in range(2):
            await lead_in(db, tenant, funnel.stage("Novo"))
        cursor = (await as_owner.get("/v1/leads", params={"limit": 1})).json()["next_cursor"]
        response = await as_owner.get("/v1/leads", params={"limit": 1, "cursor": cursor, "sort": "value_cents"})
        assert response.status_code == 400
        assert (await as_owner.get("/v1/leads", params={"cursor": "lixo"})).status_code == 400


class TestListCost:
    async def test_a_page_of_many_leads_costs_the_same_queries_as_a_page_of_one(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, engine: AsyncEngine
    ) -> None:
        await lead_in(db, tenant, funnel.stage("Novo"), phone="11 98765-4321", email="a@b.com.br")
        with counting_statements(engine) as one:
            await as_owner.get("/v1/leads")
        for i in range(6):
            await lead_in(db, tenant, funnel.stage("Novo"), name=f"Cliente {i}", phone=f"11 9876{i}-4321")
        with counting_statements(engine) as many:
            items = (await as_owner.get("/v1/leads")).json()["items"]
        assert len(items) == 7
        assert len(many) == len(one)


class TestSearchNeverFails:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(q=st.text(max_size=40))
    @example(q="11\x009876")  # PostgreSQL text cannot hold NUL: refused as a 400, never sent to the database
    @example(q="%_\\")
    async def test_any_text_in_the_search_box_is_answered_without_error(
        self, as_owner: httpx.AsyncClient, q: str
    ) -> None:
        response = await as_owner.get("/v1/leads", params={"q": q})
        assert response.status_code in {200, 400}, response.text
        if "\x00" not in q:
            assert response.status_code == 200
