"""The demo tenant's connections: WhatsApp at /hooks/whatsapp/demo-whatsapp and Grupo ZAP/OLX at
/hooks/zap/demo-zap, both routed to team Vendas, and listing AP-0001 with a captador for portal leads.

Idempotent; the secrets are sealed with the running instance's key ring (``LEADFLOW_SECRET_KEY``, or the data
dir's key in the embedded default), so a demo seeded by one key opens only under that key.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.integrations import service as integrations
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.schemas import ConnectionCreate
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.models import IntegrationConnection, Property, Role, Team, User
from leadflow.property import service as properties
from leadflow.property.schemas import PropertyCreate

DEMO_WHATSAPP = {
    "phone_number_id": "100000000000001",
    "app_secret": "demo-app-secret",
    "verify_token": "demo-verify-token",
}
DEMO_ZAP = {"username": "demo-zap", "password": "demo-zap-secret"}
DEMO_LISTING = "AP-0001"
DEMO_CAPTADOR = "ana@demo.example.com"


async def seed_demo_integrations(db: Database, tenant_id: uuid.UUID, *, ring: KeyRing | None = None) -> None:
    ring = ring or key_ring()
    scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
    async with db.session(scope) as session:
        team = (await session.scalars(select(Team).where(Team.name == "Vendas"))).first()
        team_id = team.id if team else None
        for provider, key, name, settings in (
            ("whatsapp", "demo-whatsapp", "WhatsApp da Imobiliária Demo", DEMO_WHATSAPP),
            ("zap", "demo-zap", "Grupo ZAP / OLX", DEMO_ZAP),
        ):
            if await _connection(session, provider, key) is None:
                data = ConnectionCreate(provider=provider, key=key, name=name, team_id=team_id, settings=settings)
                await integrations.connect(session, scope, data=data, ring=ring)
        await _listing_with_captador(session, scope)


async def _connection(session: AsyncSession, provider: str, key: str) -> IntegrationConnection | None:
    stmt = select(IntegrationConnection).where(
        IntegrationConnection.provider == provider, IntegrationConnection.key == key
    )
    return (await session.scalars(stmt)).first()


async def _listing_with_captador(session: AsyncSession, scope: Scope) -> None:
    """Portal leads for AP-0001 go to its captador first: make sure it exists and has one."""
    captador = (await session.scalars(select(User).where(User.email == DEMO_CAPTADOR))).first()
    captador_id = captador.id if captador else None
    listing = (await session.scalars(select(Property).where(Property.reference == DEMO_LISTING))).first()
    if listing is None:
        data = PropertyCreate(
            reference=DEMO_LISTING,
            title="Apartamento 2 quartos em Pinheiros",
            type="apartamento",
            purpose="venda",
            price_cents=790_000_00,
            bedrooms=2,
            city="São Paulo",
            uf="SP",
            neighbourhood="Pinheiros",
            listing_broker_id=captador_id,
        )
        await properties.create_property(session, scope, data=data)
    elif listing.listing_broker_id is None:
        listing.listing_broker_id = captador_id
