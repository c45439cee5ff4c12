"""Tenant B can neither read, write nor count tenant A's rows through any /v1 route.

Routes are enumerated from the app, so a route added later is covered without touching this file. Path ids are
filled with ids of A's rows: every audited row of A appears in A's audit log, so new features' rows are found
the same way.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import (
    ApiKeyKind,
    Attachment,
    AuditEntry,
    CustomFieldDefinition,
    CustomFieldType,
    Development,
    DevelopmentPhase,
    Direction,
    Interaction,
    InteractionChannel,
    LossReason,
    Role,
    Task,
    Tenant,
    User,
    Visit,
)
from tests import factories

# Routes that take no credential: they act on the host's tenant with what the body proves.
PUBLIC = {"/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout"}
PARAM = re.compile(r"{(\w+)}")


def _v1_routes() -> list[tuple[str, str]]:
    settings = Settings(_env_file=None, secret_key="k" * 48)  # type: ignore[call-arg,arg-type]
    app = create_app(settings, database=Database(create_engine("sqlite+aiosqlite://")))
    routes = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in sorted(operations)
    ]
    assert len(routes) > 20, "route enumeration found too little"
    return routes


ROUTES = _v1_routes()


@dataclass
class TenantA:
    tenant: Tenant
    ids: list[uuid.UUID]
    secrets: list[str]  # e-mails and names that must never appear in B's answers


async def _populate(db: Database, tenant: Tenant) -> TenantA:
    owner = await factories.make_user(db, tenant, role=Role.OWNER, email="dona@acme.example.com", name="Dona Acme")
    broker = await factories.make_user(db, tenant, role=Role.BROKER, email="corretor@acme.example.com")
    await factories.make_team(db, tenant, "Equipe Acme", [broker])
    await factories.make_key(db, tenant, scopes=["admin", "read"])
    await _populate_crm(db, tenant, broker)
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        ids = (await session.execute(select(AuditEntry.entity_id).distinct())).scalars().all()
    secrets = [owner.email, broker.email, "Dona Acme", "Equipe Acme", "Cliente Acme", "ACME-1", "Acme Towers"]
    return TenantA(tenant, [i for i in ids if i is not None], secrets)


async def _populate_crm(db: Database, tenant: Tenant, broker: User) -> None:
    """One row of every CRM kind, so every route with an id is tried with an id of that kind."""
    person = await factories.make_person(db, tenant, name="Cliente Acme", phone="(11) 98888-1111")
    _, stages = await factories.make_pipeline(db, tenant)
    prop = await factories.make_property(db, tenant, reference="ACME-1")
    lead = await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker, property_id=prop.id)
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        development = Development(name="Acme Towers", slug="acme-towers", phase=DevelopmentPhase.READY)
        session.add(development)
        session.add(LossReason(name="Preço"))
        session.add(CustomFieldDefinition(entity="lead", key="acme", label="Acme", type=CustomFieldType.TEXT))
        now = utcnow()
        interaction = Interaction(
            lead_id=lead.id,
            person_id=person.id,
            channel=InteractionChannel.CALL,
            direction=Direction.OUTBOUND,
            occurred_at=now,
        )
        session.add(interaction)
        session.add(Task(lead_id=lead.id, title="Ligar", due_at=now, assignee_id=broker.id))
        session.add(Visit(lead_id=lead.id, property_id=prop.id, broker_id=broker.id, scheduled_at=now))
        await session.flush()
        session.add(
            Attachment(
                interaction_id=interaction.id,
                lead_id=lead.id,
                filename="a.pdf",
                content_type="application/pdf",
                size_bytes=1,
                sha256="0" * 64,
                storage_key=f"{tenant.id}/a",
            )
        )


async def _footprint(db: Database, tenant: Tenant) -> int:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return (await session.execute(select(func.count(AuditEntry.id)))).scalar_one()


def _paths_for(path: str, a: TenantA) -> list[str]:
    names = PARAM.findall(path)
    if not names:
        return [path]
    return [PARAM.sub(str(a_id), path) for a_id in a.ids]


def _assert_nothing_of_a(response: httpx.Response, a: TenantA) -> None:
    # An id B itself sent (echoed in a 404's detail) reveals nothing; anything else of A would.
    text = response.text
    for sent in str(response.request.url.path).split("/"):
        text = text.replace(sent, "") if len(sent) == 36 else text
    leaked = [str(i) for i in a.ids if str(i) in text] + [s for s in a.secrets if s in text]
    assert not leaked, f"{response.request.method} {response.request.url.path} leaked {leaked}"


@pytest.fixture
async def tenant_a(db: Database, tenant: Tenant) -> TenantA:
    return await _populate(db, tenant)


@pytest.fixture
async def b_owner(db: Database, other_tenant: Tenant) -> User:
    return await factories.make_user(db, other_tenant, role=Role.OWNER, email="dona@rival.example.com")


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
class TestEveryRouteIsWalled:
    async def test_b_cannot_reach_a_through_its_own_host(
        self,
        app: FastAPI,
        db: Database,
        tenant_a: TenantA,
        other_tenant: Tenant,
        b_owner: User,
        method: str,
        path: str,
    ) -> None:
        before = await _footprint(db, tenant_a.tenant)
        async with factories.logged_in(app, other_tenant, b_owner) as as_b:
            for concrete in _paths_for(path, tenant_a):
                body = {} if method in {"POST", "PUT", "PATCH"} else None
                response = await as_b.request(method, concrete, json=body)
                assert response.status_code < 500, response.text
                if concrete != path:  # an id of A in the path
                    assert response.status_code in {403, 404, 405, 422}, (concrete, response.status_code)
                _assert_nothing_of_a(response, tenant_a)
        assert await _footprint(db, tenant_a.tenant) == before, "B's requests changed A's data"

    async def test_b_credentials_on_a_host_are_answered_404(
        self,
        app: FastAPI,
        db: Database,
        tenant_a: TenantA,
        other_tenant: Tenant,
        b_owner: User,
        method: str,
        path: str,
    ) -> None:
        if path in PUBLIC:
            pytest.skip("takes no credential")
        b_token = (await factories.login(app, other_tenant, b_owner.email))["access_token"]
        _, b_key = await factories.make_key(db, other_tenant, scopes=["admin", "read", "write"])
        concrete = _paths_for(path, tenant_a)[0]
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        for credential in (b_token, b_key):
            async with factories.client(app, tenant_a.tenant, token=credential) as c:
                response = await c.request(method, concrete, json=body)
            assert response.status_code == 404, (credential[:8], response.text)
            _assert_nothing_of_a(response, tenant_a)


class TestWriteKeys:
    async def test_a_public_write_key_cannot_read_the_api(self, app: FastAPI, db: Database, tenant: Tenant) -> None:
        _, write_key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
        async with factories.client(app, tenant, token=write_key) as c:
            assert (await c.get("/v1/users")).status_code == 403
