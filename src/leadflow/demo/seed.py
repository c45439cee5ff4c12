"""The demo tenants: "Imobiliária Demo" (slug demo) and "Outra Imobiliária" (slug outra).

Idempotent: running it twice leaves the same data. Later issues add their own demo data here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth import service as auth
from leadflow.auth.repository import ApiKeyRepository
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.demo.crm import FULL, SMALL, DemoSize, seed_demo_crm
from leadflow.demo.integrations import seed_demo_integrations
from leadflow.demo.pipeline import seed_demo_pipeline
from leadflow.demo.site import seed_demo_site
from leadflow.kit.crypto import digest
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKeyKind, OutboxMessage, OutboxStatus, Role
from leadflow.retention.commands import schedule_first
from leadflow.tenant.repository import TenantRepository
from leadflow.tenant.service import create_tenant
from leadflow.user import service as users
from leadflow.user.repository import TeamRepository, UserRepository
from leadflow.user.schemas import TeamCreate, UserCreate

DEMO_PASSWORD = "leadflow-demo"
DEMO_WRITE_KEY = "demo-write-key"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role


DEMO_USERS = [
    DemoUser("dona@demo.example.com", "Dona Helena Prado", Role.OWNER),
    DemoUser("gestor@demo.example.com", "Gestor Marcos Lima", Role.MANAGER),
    DemoUser("ana@demo.example.com", "Ana Souza", Role.BROKER),
    DemoUser("bruno@demo.example.com", "Bruno Oliveira", Role.BROKER),
    DemoUser("carla@demo.example.com", "Carla Mendes", Role.BROKER),
]
OTHER_USERS = [
    DemoUser("dona@outra.example.com", "Dona Regina Alves", Role.OWNER),
    DemoUser("gestor@outra.example.com", "Gestor Paulo Dias", Role.MANAGER),
]


async def seed_demo(db: Database, *, size: DemoSize = FULL) -> None:
    demo = await _seed_tenant(db, "demo", "Imobiliária Demo", DEMO_USERS, team="Vendas", write_key=DEMO_WRITE_KEY)
    outra = await _seed_tenant(db, "outra", "Outra Imobiliária", OTHER_USERS, team="Vendas", write_key=None)
    await seed_demo_pipeline(db, demo)
    await seed_demo_crm(db, demo, size)
    await seed_demo_crm(db, outra, SMALL)  # a little data of its own, so isolation can be seen
    await seed_demo_site(db, demo, write_key=DEMO_WRITE_KEY)  # landing pages: t.js, forms, thank-you page
    await seed_demo_integrations(db, demo)  # after the CRM: AP-0001 and its captador come from there
    await _history_delivered(db)
    for tenant_id in (demo, outra):  # the worker's daily retention, from tomorrow, as `leadflow tenants create` does
        async with db.session(Scope.for_tenant(tenant_id)) as session:
            await schedule_first(session, Scope.for_tenant(tenant_id))


async def _history_delivered(db: Database) -> None:
    """The seeded CRM is history, not news: its domain events are marked delivered, so the demo's worker starts
    with an empty queue (a form or WhatsApp lead is handled at once, not after 600 seeded events) and no partner
    webhook or CRM hears of the seeded leads. Timers (SLA deadlines) stay."""
    async with db.session(Scope.system()) as session:
        seeded = (
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.available_at <= utcnow(),
                OutboxMessage.event_name != "lead.sla_due",
            )
            .values(status=OutboxStatus.DONE)
        )
        await session.execute(seeded.execution_options(synchronize_session=False))


async def _seed_tenant(
    db: Database, slug: str, name: str, people: list[DemoUser], *, team: str, write_key: str | None
) -> uuid.UUID:
    async with db.session(Scope.system()) as session:
        tenant = await TenantRepository(session).by_slug(slug)
        if tenant is None:
            tenant = await create_tenant(session, slug=slug, name=name)
        tenant_id = tenant.id
    # Provisioning acts for the tenant with an owner's rights.
    scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
    async with db.session(scope) as session:
        await _seed_users(session, scope, people, team)
        if write_key is not None:
            await _seed_write_key(session, scope, write_key)
    return tenant_id


async def _seed_users(session: AsyncSession, scope: Scope, people: list[DemoUser], team_name: str) -> None:
    repo = UserRepository(session)
    created = []
    for person in people:
        user = await repo.by_email(person.email)
        if user is None:
            data = UserCreate(email=person.email, name=person.name, role=person.role, password=DEMO_PASSWORD)
            user = await users.create_user(session, scope, data=data)
        created.append(user)
    team = await TeamRepository(session).by_name(team_name)
    if team is None:
        await users.create_team(session, scope, data=TeamCreate(name=team_name, member_ids=[u.id for u in created]))


async def _seed_write_key(session: AsyncSession, scope: Scope, secret: str) -> None:
    if await ApiKeyRepository(session).by_hash_any_tenant(digest(secret)) is not None:
        return
    data = ApiKeyCreate(
        name="Site da Imobiliária Demo",
        kind=ApiKeyKind.WRITE,
        allowed_origins=["http://demo.localhost:8000", "http://localhost:8000", "http://127.0.0.1:8000"],
    )
    await auth.create_api_key(session, scope, data=data, secret=secret)
