"""After anonymisation the person's e-mail and phones are on a salted-hash suppression list: a CSV import does not
re-create them (in any format they are typed), a form they send themselves is kept but audited, and the list is
per tenant."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import AuditEntry, Person, Role, Tenant
from leadflow.privacy import service
from tests import factories
from tests.dataimport.factories import csv_bytes, errors_at, imported, outcomes
from tests.pipeline.conftest import SalesTeam, convert, visitor

HEADER = ["Nome", "E-mail", "Celular"]
SUPPRESSED = "contact of an anonymised person (LGPD suppression list): not re-created"


async def _anonymised(db: Database, tenant: Tenant) -> Person:
    person = await factories.make_person(
        db, tenant, name="Joana Vasconcelos", phone="(11) 98765-1234", email="joana@exemplo.com.br"
    )
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        await service.anonymise_person(session, scope, person_id=person.id, reason="subject_request")
    return person


class TestACsvImport:
    async def test_does_not_re_create_an_anonymised_person_however_the_contact_is_typed(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await _anonymised(db, tenant)
        rows = [
            HEADER,
            ["Joana V.", "JOANA@Exemplo.com.br", ""],
            ["J. Vasconcelos", "", "+55 11 8765-1234"],  # without the ninth digit
            ["Carlos Lima", "carlos@exemplo.com.br", "(11) 91234-5678"],
        ]
        job = await imported(as_manager, csv_bytes(rows), dry_run=False)
        assert outcomes(job) == [(2, "error"), (3, "error"), (4, "created")]
        assert errors_at(job, 2) == [{"field": None, "message": SUPPRESSED}]

    async def test_in_another_tenant_the_same_contact_is_imported(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await _anonymised(db, tenant)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            job = await imported(as_rival, csv_bytes([HEADER, ["Joana", "joana@exemplo.com.br", ""]]), dry_run=False)
        assert outcomes(job) == [(2, "created")]


class TestAFormSentByTheSubject:
    async def test_is_kept_but_the_return_of_a_suppressed_contact_is_audited(
        self,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
        sales: SalesTeam,
    ) -> None:
        await _anonymised(db, tenant)
        await convert(anonymous, worker, visitor(1, email="joana@exemplo.com.br"), visitor(2))
        async with db.session(factories.owner_scope(tenant)) as session:
            stmt = select(AuditEntry.entity_id).where(AuditEntry.action == "suppressed_contact_returned")
            flagged = list((await session.execute(stmt)).scalars())
            people = {p.id: p.name for p in (await session.execute(select(Person))).scalars()}
        assert [people[i] for i in flagged] == ["Visitante 1"]


class TestAskingWhetherAContactIsSuppressed:
    async def test_any_typing_of_the_e_mail_or_phone_is_recognised(self, db: Database, tenant: Tenant) -> None:
        await _anonymised(db, tenant)
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            assert await service.is_suppressed(session, scope, emails=[" Joana@EXEMPLO.com.br "])
            assert await service.is_suppressed(session, scope, phones=["5511987651234"])
            assert await service.is_suppressed(session, scope, phones=["(11) 8765-1234"])
            assert not await service.is_suppressed(session, scope, emails=["joana2@exemplo.com.br"], phones=["x"])
