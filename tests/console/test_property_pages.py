"""Properties and developments: lists with filters, details, units availability and the leads that fit."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import Development, Lead, Property, PropertyStatus, Purpose, Role, Stage, Tenant, User
from tests import factories
from tests.console.conftest import Console, logged_in_console
from tests.property.factories import make_development, make_interest

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
async def same_team(db: Database, tenant: Tenant, manager: User, broker: User) -> None:
    await factories.make_team(db, tenant, "Vendas", [manager, broker])


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def pinheiros(db: Database, tenant: Tenant) -> Property:
    return await factories.make_property(db, tenant, reference="AP-0001", title="Apto em Pinheiros")


@pytest.fixture
async def moema(db: Database, tenant: Tenant) -> Property:
    return await factories.make_property(
        db, tenant, reference="CA-0002", title="Casa em Moema", neighbourhood="Moema", bedrooms=4
    )


@pytest.fixture
async def aurora(db: Database, tenant: Tenant) -> Development:
    development = await make_development(db, tenant)
    for reference, tower, status, price in (
        ("A-101", "Torre A", PropertyStatus.AVAILABLE, 480_000_00),
        ("A-102", "Torre A", PropertyStatus.SOLD, 490_000_00),
        ("B-101", "Torre B", PropertyStatus.AVAILABLE, 720_000_00),
    ):
        await factories.make_property(
            db,
            tenant,
            reference=reference,
            development_id=development.id,
            tower=tower,
            status=status,
            price_cents=price,
            city="Campinas",
            neighbourhood="Cambuí",
        )
    return development


async def _buyer(db: Database, tenant: Tenant, stages: list[Stage], owner: User, name: str, **interest: object) -> Lead:
    person = await factories.make_person(db, tenant, name=name)
    lead = await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=owner)
    await make_interest(db, tenant, lead, purpose=Purpose.BUY, **interest)
    return lead


class TestPropertyList:
    async def test_lists_properties_with_price_and_status(self, broker_console: Console, pinheiros: Property) -> None:
        html = (await broker_console.get("/app/imoveis")).text
        assert f'href="/app/imoveis/{pinheiros.id}"' in html
        assert "R$\xa0650.000,00" in html
        assert "Disponível" in html
        assert "Apartamento" in html

    async def test_filters_by_neighbourhood_and_bedrooms(
        self, broker_console: Console, pinheiros: Property, moema: Property
    ) -> None:
        html = (await broker_console.get("/app/imoveis?neighbourhood=Moema")).text
        assert "CA-0002" in html
        assert "AP-0001" not in html
        html = (await broker_console.get("/app/imoveis?bedrooms_min=3")).text
        assert "CA-0002" in html
        assert "AP-0001" not in html

    async def test_refuses_an_invalid_filter_with_422(self, broker_console: Console) -> None:
        assert (await broker_console.get("/app/imoveis?status=maybe")).status_code == 422


class TestPropertyPage:
    async def test_shows_the_details_and_the_open_leads_that_fit_best_first(
        self,
        broker_console: Console,
        db: Database,
        tenant: Tenant,
        stages: list[Stage],
        broker: User,
        pinheiros: Property,
    ) -> None:
        close = await _buyer(
            db,
            tenant,
            stages,
            broker,
            "Cliente Pinheiros",
            cities=["São Paulo"],
            neighbourhoods=["Pinheiros"],
            price_max_cents=700_000_00,
            bedrooms_min=2,
        )
        loose = await _buyer(db, tenant, stages, broker, "Cliente São Paulo", cities=["São Paulo"])
        await _buyer(db, tenant, stages, broker, "Cliente Campinas", cities=["Campinas"])
        html = (await broker_console.get(f"/app/imoveis/{pinheiros.id}")).text
        assert "Apto em Pinheiros" in html
        matches = html[html.index('id="matching-leads"') :]
        assert f'href="/app/leads/{close.id}">Cliente Pinheiros<' in matches
        scores = [int(score) for score in re.findall(r'<span class="pill">(\d+)/100</span>', matches)]
        assert len(scores) == 2
        assert scores == sorted(scores, reverse=True)  # best first
        assert f"/app/leads/{loose.id}" in matches
        assert "Cliente Campinas" not in matches

    async def test_a_broker_sees_only_their_own_leads_among_the_matches(
        self,
        broker_console: Console,
        db: Database,
        tenant: Tenant,
        stages: list[Stage],
        broker: User,
        pinheiros: Property,
    ) -> None:
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        await _buyer(db, tenant, stages, broker, "Meu Cliente", cities=["São Paulo"])
        await _buyer(db, tenant, stages, colleague, "Cliente do Colega", cities=["São Paulo"])
        html = (await broker_console.get(f"/app/imoveis/{pinheiros.id}")).text
        assert "Meu Cliente" in html
        assert "Cliente do Colega" not in html

    async def test_another_tenants_property_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, pinheiros: Property
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            response = await console.get(f"/app/imoveis/{pinheiros.id}")
            listed = (await console.get("/app/imoveis")).text
        assert response.status_code == 404
        assert "AP-0001" not in listed


class TestDevelopments:
    async def test_lists_developments_with_their_available_units(
        self, broker_console: Console, aurora: Development
    ) -> None:
        html = (await broker_console.get("/app/empreendimentos")).text
        assert f'href="/app/empreendimentos/{aurora.id}"' in html
        assert "2 / 3" in html
        assert "R$\xa0480.000,00" in html

    async def test_filters_by_phase(self, broker_console: Console, aurora: Development) -> None:
        assert "Residencial Aurora" in (await broker_console.get("/app/empreendimentos?phase=em_obras")).text
        assert "Residencial Aurora" not in (await broker_console.get("/app/empreendimentos?phase=pronto")).text
        assert (await broker_console.get("/app/empreendimentos?phase=soon")).status_code == 422

    async def test_the_page_shows_availability_by_tower_and_the_units(
        self, broker_console: Console, aurora: Development
    ) -> None:
        html = (await broker_console.get(f"/app/empreendimentos/{aurora.id}")).text
        towers = html[html.index('id="towers"') :]
        assert '<th scope="row">Torre A</th><td class="num">1</td><td class="num">2</td>' in towers
        assert '<th scope="row">Torre B</th><td class="num">1</td><td class="num">1</td>' in towers
        units = html[html.index('id="units"') :]
        assert "A-101" in units
        assert "A-102" in units
        assert "Vendido" in units
        available = (await broker_console.get(f"/app/empreendimentos/{aurora.id}?status=disponivel")).text
        assert "A-102" not in available[available.index('id="units"') :]

    async def test_the_page_lists_the_leads_that_asked_about_the_development(
        self,
        broker_console: Console,
        db: Database,
        tenant: Tenant,
        stages: list[Stage],
        broker: User,
        aurora: Development,
    ) -> None:
        person = await factories.make_person(db, tenant, name="Cliente do Aurora")
        lead = await factories.make_lead(
            db, tenant, person=person, stage=stages[0], owner=broker, development_id=aurora.id
        )
        html = (await broker_console.get(f"/app/empreendimentos/{aurora.id}")).text
        assert f'href="/app/leads/{lead.id}">Cliente do Aurora<' in html[html.index('id="interested-leads"') :]

    async def test_another_tenants_development_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, aurora: Development
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            assert (await console.get(f"/app/empreendimentos/{aurora.id}")).status_code == 404
            assert "Residencial Aurora" not in (await console.get("/app/empreendimentos")).text
