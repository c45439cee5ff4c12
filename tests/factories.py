"""Plain factory functions: a test states only what differs from these defaults."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from leadflow.auth import service as auth
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.kit.br import normalize_phone, phone_match_key
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import (
    ApiKey,
    ApiKeyKind,
    IdentityKind,
    Lead,
    ListingPurpose,
    Person,
    PersonIdentity,
    Pipeline,
    Property,
    PropertyType,
    Role,
    Stage,
    StageKind,
    Team,
    Tenant,
    User,
)
from leadflow.tenant.service import create_tenant
from leadflow.user import service as users
from leadflow.user.schemas import TeamCreate, UserCreate

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def owner_scope(tenant: Tenant) -> Scope:
    return Scope(tenant_id=tenant.id, actor_type="system", role=Role.OWNER.value)


async def make_tenant(db: Database, slug: str, name: str | None = None) -> Tenant:
    async with db.session(Scope.system()) as session:
        return await create_tenant(session, slug=slug, name=name or slug.title())


async def make_user(
    db: Database,
    tenant: Tenant,
    *,
    role: Role = Role.BROKER,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> User:
    n = next(_seq)
    data = UserCreate(
        email=email or f"user{n}@{tenant.slug}.example.com", name=name or f"Pessoa {n}", role=role, password=password
    )
    async with db.session(owner_scope(tenant)) as session:
        return await users.create_user(session, owner_scope(tenant), data=data)


async def make_team(db: Database, tenant: Tenant, name: str, members: list[User]) -> Team:
    async with db.session(owner_scope(tenant)) as session:
        read = await users.create_team(
            session, owner_scope(tenant), data=TeamCreate(name=name, member_ids=[m.id for m in members])
        )
        return await session.get_one(Team, read.id)


async def make_key(
    db: Database, tenant: Tenant, *, kind: ApiKeyKind = ApiKeyKind.SECRET, scopes: list[str] | None = None
) -> tuple[ApiKey, str]:
    data = ApiKeyCreate(name=f"key {next(_seq)}", kind=kind, scopes=scopes or [])
    async with db.session(owner_scope(tenant)) as session:
        return await auth.create_api_key(session, owner_scope(tenant), data=data)


def host_of(tenant: Tenant) -> str:
    return f"{tenant.slug}.localhost"


@asynccontextmanager
async def client(app: FastAPI, tenant: Tenant, *, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host_of(tenant)}", headers=headers) as c:
        yield c


async def login(app: FastAPI, tenant: Tenant, email: str, password: str = PASSWORD) -> dict[str, str]:
    async with client(app, tenant) as c:
        response = await c.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


@asynccontextmanager
async def logged_in(app: FastAPI, tenant: Tenant, user: User) -> AsyncIterator[httpx.AsyncClient]:
    tokens = await login(app, tenant, user.email)
    async with client(app, tenant, token=tokens["access_token"]) as c:
        yield c


# CRM rows, inserted directly: builders for tests of other features (each feature tests its own service).


async def make_person(
    db: Database, tenant: Tenant, *, name: str = "Maria Silva", phone: str | None = None, email: str | None = None
) -> Person:
    async with db.session(owner_scope(tenant)) as session:
        person = Person(name=name)
        session.add(person)
        await session.flush()
        if phone:
            e164 = normalize_phone(phone)
            session.add(
                PersonIdentity(
                    person_id=person.id,
                    kind=IdentityKind.PHONE,
                    value=e164,
                    match_key=phone_match_key(e164),
                    is_primary=True,
                )
            )
        if email:
            session.add(
                PersonIdentity(
                    person_id=person.id,
                    kind=IdentityKind.EMAIL,
                    value=email.lower(),
                    match_key=email.lower(),
                    is_primary=True,
                )
            )
        return person


async def make_pipeline(
    db: Database,
    tenant: Tenant,
    name: str = "Venda",
    stages: tuple[str, ...] = ("Novo", "Contato", "Visita", "Proposta"),
) -> tuple[Pipeline, list[Stage]]:
    """A pipeline with the given open stages followed by "Ganho" (won) and "Perdido" (lost)."""
    async with db.session(owner_scope(tenant)) as session:
        pipeline = Pipeline(name=name, is_default=True)
        session.add(pipeline)
        await session.flush()
        rows = [
            Stage(pipeline_id=pipeline.id, name=n, position=i, kind=StageKind.OPEN, probability=10 * (i + 1))
            for i, n in enumerate(stages)
        ]
        rows.append(
            Stage(pipeline_id=pipeline.id, name="Ganho", position=len(stages), kind=StageKind.WON, probability=100)
        )
        rows.append(
            Stage(pipeline_id=pipeline.id, name="Perdido", position=len(stages) + 1, kind=StageKind.LOST, probability=0)
        )
        session.add_all(rows)
        return pipeline, rows


async def make_lead(
    db: Database, tenant: Tenant, *, person: Person, stage: Stage, owner: User | None = None, **fields: object
) -> Lead:
    async with db.session(owner_scope(tenant)) as session:
        lead = Lead(
            person_id=person.id,
            pipeline_id=stage.pipeline_id,
            stage_id=stage.id,
            owner_id=owner.id if owner else None,
            stage_entered_at=utcnow(),
            **fields,
        )
        session.add(lead)
        return lead


async def make_property(db: Database, tenant: Tenant, *, reference: str = "AP-0001", **fields: object) -> Property:
    defaults: dict[str, object] = {
        "type": PropertyType.APARTMENT,
        "purpose": ListingPurpose.SALE,
        "price_cents": 650_000_00,
        "bedrooms": 2,
        "city": "São Paulo",
        "uf": "SP",
        "neighbourhood": "Pinheiros",
    }
    async with db.session(owner_scope(tenant)) as session:
        prop = Property(reference=reference, **{**defaults, **fields})
        session.add(prop)
        return prop
