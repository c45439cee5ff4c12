"""People pages: the list with search, a person's contacts, leads, consents and duplicates, and the merge."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import AuditEntry, Consent, ConsentStatus, Lead, Person, PersonMerge, Role, Stage, Tenant, User
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
async def same_team(db: Database, tenant: Tenant, manager: User, broker: User) -> None:
    await factories.make_team(db, tenant, "Vendas", [manager, broker])


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def maria(db: Database, tenant: Tenant) -> Person:
    return await factories.make_person(db, tenant, name="Maria Silva", phone="(11) 98765-4321", email="maria@x.com")


@pytest.fixture
async def maria_again(db: Database, tenant: Tenant) -> Person:
    """The same Maria, typed in without the ninth digit by a portal."""
    return await factories.make_person(db, tenant, name="Maria S.", phone="(11) 8765-4321")


@pytest.fixture
async def joao(db: Database, tenant: Tenant) -> Person:
    return await factories.make_person(db, tenant, name="João Souza", phone="(21) 99999-0000")


async def _consent(db: Database, tenant: Tenant, person: Person, status: ConsentStatus, channel: str) -> None:
    now = utcnow()
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(
            Consent(
                person_id=person.id,
                channel=channel,
                purpose="marketing",
                legal_basis="consentimento",
                status=status,
                given_at=now if status is ConsentStatus.GIVEN else None,
                withdrawn_at=None if status is ConsentStatus.GIVEN else now,
            )
        )


class TestPeopleList:
    async def test_lists_people_with_their_contacts(self, broker_console: Console, maria: Person, joao: Person) -> None:
        html = (await broker_console.get("/app/pessoas")).text
        assert f'href="/app/pessoas/{maria.id}"' in html
        assert "+5511987654321" in html
        assert "João Souza" in html
        assert 'href="/app/pessoas" aria-current="page"' in html

    async def test_searches_by_phone_typed_any_way(self, broker_console: Console, maria: Person, joao: Person) -> None:
        html = (await broker_console.get("/app/pessoas?q=98765-4321")).text
        assert "Maria Silva" in html
        assert "João Souza" not in html

    async def test_another_tenants_people_are_not_listed(
        self, app: FastAPI, db: Database, other_tenant: Tenant, maria: Person
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            assert "Maria Silva" not in (await console.get("/app/pessoas")).text


class TestPersonPage:
    async def test_shows_contacts_leads_and_the_consents_in_force(
        self, broker_console: Console, db: Database, tenant: Tenant, maria: Person, stages: list[Stage], broker: User
    ) -> None:
        lead = await factories.make_lead(db, tenant, person=maria, stage=stages[0], owner=broker, title="Apto 2 dorms")
        await _consent(db, tenant, maria, ConsentStatus.GIVEN, "whatsapp")
        await _consent(db, tenant, maria, ConsentStatus.GIVEN, "email")
        await _consent(db, tenant, maria, ConsentStatus.WITHDRAWN, "email")
        html = (await broker_console.get(f"/app/pessoas/{maria.id}")).text
        assert "maria@x.com" in html
        assert f'href="/app/leads/{lead.id}">Apto 2 dorms<' in html
        consents = html[html.index('id="consents"') :]
        assert consents.count('<tr><th scope="row">') == 2  # whatsapp and e-mail: the latest row of each
        assert "retirado" in consents
        assert "dado" in consents

    async def test_lists_only_the_leads_the_broker_may_see(
        self, broker_console: Console, db: Database, tenant: Tenant, maria: Person, stages: list[Stage], broker: User
    ) -> None:
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        mine = await factories.make_lead(db, tenant, person=maria, stage=stages[0], owner=broker)
        theirs = await factories.make_lead(db, tenant, person=maria, stage=stages[0], owner=colleague)
        html = (await broker_console.get(f"/app/pessoas/{maria.id}")).text
        assert f"/app/leads/{mine.id}" in html
        assert f"/app/leads/{theirs.id}" not in html

    async def test_shows_a_likely_duplicate_with_the_reason(
        self, manager_console: Console, maria: Person, maria_again: Person
    ) -> None:
        html = (await manager_console.get(f"/app/pessoas/{maria.id}")).text
        duplicates = html[html.index('id="duplicates"') :]
        assert f'href="/app/pessoas/{maria_again.id}"' in duplicates
        assert "telefone" in duplicates
        assert f'name="other_id" value="{maria_again.id}"' in duplicates

    async def test_another_tenants_person_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, maria: Person
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            response = await console.get(f"/app/pessoas/{maria.id}")
        assert response.status_code == 404
        assert "Maria Silva" not in response.text


class TestMerge:
    async def test_a_manager_merges_a_duplicate_and_its_leads_move_to_the_survivor(
        self,
        manager_console: Console,
        db: Database,
        tenant: Tenant,
        manager: User,
        maria: Person,
        maria_again: Person,
        stages: list[Stage],
    ) -> None:
        lead = await factories.make_lead(db, tenant, person=maria_again, stage=stages[0], owner=manager)
        await manager_console.get(f"/app/pessoas/{maria.id}")
        response = await manager_console.post(
            f"/app/pessoas/{maria.id}/merge", {"other_id": str(maria_again.id), "confirm": "yes"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/app/pessoas/{maria.id}?merged=1"
        html = (await manager_console.get(response.headers["location"])).text
        assert 'id="merged"' in html
        assert f"/app/leads/{lead.id}" in html
        gone = await manager_console.get(f"/app/pessoas/{maria_again.id}")
        assert (gone.status_code, gone.headers["location"]) == (303, f"/app/pessoas/{maria.id}")
        async with db.session(factories.owner_scope(tenant)) as session:
            moved = await session.get(Lead, lead.id)
            merges = list((await session.execute(select(PersonMerge))).scalars())
            audit = (await session.execute(select(AuditEntry).where(AuditEntry.entity_type == "person_merges"))).all()
        assert moved is not None
        assert moved.person_id == maria.id
        assert [(m.survivor_id, m.merged_id, m.merged_by_id) for m in merges] == [
            (maria.id, maria_again.id, manager.id)
        ]
        assert len(audit) == 1

    async def test_without_the_confirmation_nothing_is_merged(
        self, manager_console: Console, db: Database, tenant: Tenant, maria: Person, maria_again: Person
    ) -> None:
        await manager_console.get(f"/app/pessoas/{maria.id}")
        response = await manager_console.post(f"/app/pessoas/{maria.id}/merge", {"other_id": str(maria_again.id)})
        assert response.status_code == 422
        assert (await manager_console.get(f"/app/pessoas/{maria_again.id}")).status_code == 200

    async def test_a_post_without_csrf_merges_nothing(
        self, manager_console: Console, maria: Person, maria_again: Person
    ) -> None:
        await manager_console.get(f"/app/pessoas/{maria.id}")
        response = await manager_console.post(
            f"/app/pessoas/{maria.id}/merge", {"other_id": str(maria_again.id), "confirm": "yes"}, csrf=""
        )
        assert response.status_code == 403
        assert (await manager_console.get(f"/app/pessoas/{maria_again.id}")).status_code == 200

    async def test_a_broker_sees_the_duplicate_but_may_not_merge(
        self, broker_console: Console, maria: Person, maria_again: Person
    ) -> None:
        html = (await broker_console.get(f"/app/pessoas/{maria.id}")).text
        assert f'href="/app/pessoas/{maria_again.id}"' in html
        assert 'name="other_id"' not in html
        response = await broker_console.post(
            f"/app/pessoas/{maria.id}/merge", {"other_id": str(maria_again.id), "confirm": "yes"}
        )
        assert response.status_code == 403
        assert (await broker_console.get(f"/app/pessoas/{maria_again.id}")).status_code == 200

    async def test_another_tenants_person_cannot_be_merged_in(
        self, manager_console: Console, db: Database, other_tenant: Tenant, maria: Person
    ) -> None:
        stranger = await factories.make_person(db, other_tenant, name="Maria da Rival", phone="(11) 98765-4321")
        await manager_console.get(f"/app/pessoas/{maria.id}")
        response = await manager_console.post(
            f"/app/pessoas/{maria.id}/merge", {"other_id": str(stranger.id), "confirm": "yes"}
        )
        assert response.status_code == 404
        assert "Maria da Rival" not in (await manager_console.get(f"/app/pessoas/{maria.id}")).text


async def merge(console: Console, survivor: Person, other: Person) -> PersonMerge:
    await console.get(f"/app/pessoas/{survivor.id}")
    response = await console.post(f"/app/pessoas/{survivor.id}/merge", {"other_id": str(other.id), "confirm": "yes"})
    assert response.status_code == 303, response.text
    return PersonMerge(id=uuid.UUID(_merge_id((await console.get(f"/app/pessoas/{survivor.id}")).text)))


def _merge_id(html: str) -> str:
    found = re.search(r'action="/app/pessoas/merges/([0-9a-f-]{36})/desfazer"', html)
    assert found is not None, "no undo button on the survivor's page"
    return found.group(1)


class TestUndoMerge:
    async def test_a_manager_undoes_a_merge_and_the_merged_person_gets_their_lead_back(
        self,
        manager_console: Console,
        db: Database,
        tenant: Tenant,
        manager: User,
        maria: Person,
        maria_again: Person,
        stages: list[Stage],
    ) -> None:
        lead = await factories.make_lead(db, tenant, person=maria_again, stage=stages[0], owner=manager)
        done = await merge(manager_console, maria, maria_again)
        survivor_page = (await manager_console.get(f"/app/pessoas/{maria.id}")).text
        assert "Mesclados nesta pessoa" in survivor_page
        assert "Maria S." in survivor_page
        response = await manager_console.post(f"/app/pessoas/merges/{done.id}/desfazer")
        assert response.status_code == 303
        assert response.headers["location"] == f"/app/pessoas/{maria_again.id}?unmerged=1"
        html = (await manager_console.get(response.headers["location"])).text
        assert 'id="unmerged"' in html
        assert f"/app/leads/{lead.id}" in html
        assert "Desfazer mesclagem" not in (await manager_console.get(f"/app/pessoas/{maria.id}")).text
        async with db.session(factories.owner_scope(tenant)) as session:
            assert (await session.get_one(Lead, lead.id)).person_id == maria_again.id

    async def test_undoing_twice_is_refused_in_portuguese(
        self, manager_console: Console, maria: Person, maria_again: Person
    ) -> None:
        done = await merge(manager_console, maria, maria_again)
        assert (await manager_console.post(f"/app/pessoas/merges/{done.id}/desfazer")).status_code == 303
        again = await manager_console.post(f"/app/pessoas/merges/{done.id}/desfazer")
        assert again.status_code == 409
        assert "Esta mesclagem já foi desfeita." in again.text

    async def test_a_broker_sees_no_undo_and_may_not_undo(
        self, manager_console: Console, broker_console: Console, maria: Person, maria_again: Person
    ) -> None:
        done = await merge(manager_console, maria, maria_again)
        html = (await broker_console.get(f"/app/pessoas/{maria.id}")).text
        assert "Mesclados nesta pessoa" in html
        assert "/desfazer" not in html
        assert (await broker_console.post(f"/app/pessoas/merges/{done.id}/desfazer")).status_code == 403

    async def test_another_tenants_merge_is_not_found(
        self,
        app: FastAPI,
        db: Database,
        manager_console: Console,
        other_tenant: Tenant,
        maria: Person,
        maria_again: Person,
    ) -> None:
        done = await merge(manager_console, maria, maria_again)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER)
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/pessoas")
            assert (await console.post(f"/app/pessoas/merges/{done.id}/desfazer")).status_code == 404
        assert (await manager_console.get(f"/app/pessoas/{maria_again.id}")).status_code == 303
