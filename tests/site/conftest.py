"""A tenant with a public site: developments and properties in every state, its forms, its site settings, and
another tenant whose listings must never show on this one's host."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from tests import factories
from tests.bus.conftest import Clock

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKeyKind, Development, Lead, LeadForm, Property, Role, Tenant, User
from leadflow.property import service as properties
from leadflow.property.schemas import DevelopmentCreate, PropertyCreate, UnitCreate


@dataclass
class Listings:
    captador: User
    other_broker: User
    standalone: Property  # AP-0001, for sale, R$ 1.250.000,00, with its own form
    rental: Property  # CA-0002, for rent, with photos
    sold: Property
    deleted: Property
    development: Development  # Residencial Jardim das Acácias
    unit: Property  # available unit of the development
    reserved_unit: Property
    deleted_development: Development
    orphan_unit: Property  # available unit of the deleted development
    write_key: str


async def set_site_settings(db: Database, tenant: Tenant, **site: Any) -> None:
    async with db.session(Scope.system()) as session:
        row = await session.get_one(Tenant, tenant.id)
        row.settings = {**row.settings, "site": site}


def owner(tenant: Tenant) -> Scope:
    return factories.owner_scope(tenant)


async def _development(db: Database, tenant: Tenant, **fields: Any) -> Development:
    async with db.session(owner(tenant)) as session:
        read = await properties.create_development(session, owner(tenant), data=DevelopmentCreate(**fields))
        return await session.get_one(Development, read.id)


async def _unit(db: Database, tenant: Tenant, development: Development, **fields: Any) -> Property:
    defaults: dict[str, Any] = {"type": "apartamento", "purpose": "venda", "bedrooms": 2, "suites": 1}
    async with db.session(owner(tenant)) as session:
        data = UnitCreate(**{**defaults, **fields})
        return await properties.create_unit(session, owner(tenant), development_id=development.id, data=data)


async def _property(db: Database, tenant: Tenant, **fields: Any) -> Property:
    async with db.session(owner(tenant)) as session:
        return await properties.create_property(session, owner(tenant), data=PropertyCreate(**fields))


async def _soft_delete(db: Database, tenant: Tenant, row: Property | Development) -> None:
    async with db.session(owner(tenant)) as session:
        found = await session.get_one(type(row), row.id)
        found.deleted_at = utcnow()


@pytest_asyncio.fixture
async def listings(db: Database, tenant: Tenant) -> Listings:
    captador = await factories.make_user(db, tenant, role=Role.BROKER, name="Carla Captadora")
    other_broker = await factories.make_user(db, tenant, role=Role.BROKER, name="Bruno Corretor")
    team = await factories.make_team(db, tenant, "Vendas", [captador, other_broker])
    await factories.make_pipeline(db, tenant)
    standalone = await _property(
        db,
        tenant,
        reference="AP-0001",
        title="Apartamento com varanda gourmet em Pinheiros",
        type="apartamento",
        purpose="venda",
        price_cents=1_250_000_00,
        condo_fee_cents=1_380_50,
        private_area=Decimal("72.5"),
        bedrooms=3,
        suites=1,
        parking=2,
        street="Rua dos Pinheiros",
        number="1200",
        neighbourhood="Pinheiros",
        city="São Paulo",
        uf="SP",
        cep="05422-010",
        features=["varanda gourmet", "piscina"],
        description="Andar alto, sol da manhã, a duas quadras do metrô.",
        listing_broker_id=captador.id,
    )
    rental = await _property(
        db,
        tenant,
        reference="CA-0002",
        type="casa",
        purpose="locacao",
        price_cents=4_500_00,
        bedrooms=2,
        neighbourhood="Cambuí",
        city="Campinas",
        uf="SP",
        latitude=-22.8926,
        longitude=-47.0553,
        photos=[
            "https://fotos.acme.example.com/ca-0002/fachada.jpg",
            "https://fotos.acme.example.com/ca-0002/sala.jpg",
        ],
    )
    sold = await _property(db, tenant, reference="VEN-0003", type="apartamento", purpose="venda", status="vendido")
    deleted = await _property(db, tenant, reference="DEL-0004", type="apartamento", purpose="venda")
    await _soft_delete(db, tenant, deleted)
    development = await _development(
        db,
        tenant,
        name="Residencial Jardim das Acácias",
        builder="Incorporadora Campos",
        phase="em_obras",
        city="Campinas",
        uf="SP",
        neighbourhood="Cambuí",
        street="Rua Coronel Quirino",
        number="900",
        towers=["Torre A", "Torre B"],
        features=["piscina", "academia"],
        delivery_date="2027-12-01",
        description="Dois e três dormitórios no Cambuí, lazer completo.",
    )
    unit = await _unit(
        db, tenant, development, reference="JARDIM-A101", tower="Torre A", unit_number="101", price_cents=720_000_00
    )
    reserved = await _unit(
        db, tenant, development, reference="JARDIM-A102", tower="Torre A", unit_number="102", status="reservado"
    )
    gone = await _development(db, tenant, name="Edifício Demolido", phase="pronto", city="São Paulo", uf="SP")
    orphan = await _unit(db, tenant, gone, reference="DEMOL-101", unit_number="101")
    await _soft_delete(db, tenant, gone)
    _, write_key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
    async with db.session(owner(tenant)) as session:
        session.add(LeadForm(key="contato", name="Fale conosco", team_id=team.id, thank_you_url="/obrigado"))
        session.add(
            LeadForm(
                key="ap-0001", name="AP-0001", team_id=team.id, property_id=standalone.id, thank_you_url="/obrigado"
            )
        )
    await set_site_settings(db, tenant, write_key=write_key)
    return Listings(
        captador=captador,
        other_broker=other_broker,
        standalone=standalone,
        rental=rental,
        sold=sold,
        deleted=deleted,
        development=development,
        unit=unit,
        reserved_unit=reserved,
        deleted_development=gone,
        orphan_unit=orphan,
        write_key=write_key,
    )


@pytest_asyncio.fixture
async def rival_listings(db: Database, other_tenant: Tenant) -> tuple[Property, Development]:
    prop = await _property(db, other_tenant, reference="RIV-0001", type="apartamento", purpose="venda")
    development = await _development(db, other_tenant, name="Rival Towers", phase="lancamento")
    return prop, development


@pytest.fixture
def worker(db: Database) -> Dispatcher:
    discover_handlers()
    return Dispatcher(db, registry, retry=RetryPolicy(max_attempts=3), clock=Clock(), rng=random.Random(3))


async def drain(dispatcher: Dispatcher) -> None:
    assert isinstance(dispatcher.clock, Clock)
    dispatcher.clock.now = max(dispatcher.clock.now, utcnow())
    while await dispatcher.dispatch_once():
        pass


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the page's lead form, by name."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def form_tag(html: str) -> str:
    match = re.search(r"<form [^>]*>", html)
    assert match, "the page has no form"
    return match.group(0)


async def leads_of(db: Database, tenant: Tenant) -> list[Lead]:
    async with db.session(owner(tenant)) as session:
        return list((await session.scalars(select(Lead).order_by(Lead.created_at))).all())
