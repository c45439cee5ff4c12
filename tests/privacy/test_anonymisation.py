"""Anonymising a person (LGPD art. 18 IV) removes every literal of their personal data from the database while the
KPIs stay the same; their contacts go to a salted-hash suppression list; only owners and managers may do it, only
in their tenant, and doing it twice changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.models import AuditEntry, Suppression, Tenant, User
from tests import factories
from tests.privacy.factories import JOANA, JOANA_TWIN, create_subject, dump_text, found_literals, kpis, leaks, win


async def _won_stage(client: httpx.AsyncClient) -> str:
    pipelines = (await client.get("/v1/pipelines")).json()["items"]
    return next(s["id"] for s in pipelines[0]["stages"] if s["kind"] == "won")


async def _joana_and_twin(client: httpx.AsyncClient, db: Database, tenant: Tenant) -> dict[str, Any]:
    await factories.make_pipeline(db, tenant)
    joana = await create_subject(client, JOANA)
    twin = await create_subject(client, JOANA_TWIN)
    await win(client, joana["lead"], await _won_stage(client))
    return {"joana": joana, "twin": twin}


class TestAnonymisingAPerson:
    async def test_a_database_dump_holds_none_of_their_literals_and_the_kpis_are_unchanged(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        assert found_literals(await dump_text(db), JOANA) == JOANA.literals  # the scan sees them before
        before = await kpis(db, tenant)

        response = await as_manager.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")

        assert response.status_code == 200, response.text
        assert leaks(await dump_text(db), JOANA) == {}
        assert await kpis(db, tenant) == before

    async def test_the_other_people_keep_their_data(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        await as_manager.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")
        twin = (await as_manager.get(f"/v1/people/{people['twin']['person']['id']}")).json()
        assert (twin["name"], twin["emails"]) == (JOANA_TWIN.name, [JOANA_TWIN.email])
        assert found_literals(await dump_text(db), JOANA_TWIN) == JOANA_TWIN.literals

    async def test_the_person_and_their_lead_remain_with_neutral_values(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        person_id, lead_id = people["joana"]["person"]["id"], people["joana"]["lead"]["id"]
        await as_manager.post(f"/v1/people/{person_id}/anonymise")
        person = (await as_manager.get(f"/v1/people/{person_id}")).json()
        lead = (await as_manager.get(f"/v1/leads/{lead_id}")).json()
        assert person["name"] == "Titular anonimizado"
        assert (person["emails"], person["phones"], person["whatsapp_ids"], person["cpf_cnpj"]) == ([], [], [], None)
        assert (lead["status"], lead["value_cents"], lead["source"]) == ("won", 65_000_000, "portal_zap")

    async def test_the_answer_says_what_was_rewritten_and_a_second_call_returns_the_same_record(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        url = f"/v1/people/{people['joana']['person']['id']}/anonymise"
        first = (await as_manager.post(url, json={"reason": "subject_request"})).json()
        again = (await as_manager.post(url, json={"reason": "retention"})).json()
        assert first == again
        assert first["reason"] == "subject_request"
        summary = first["summary"]
        assert (summary["leads"], summary["interactions"], summary["tasks"], summary["visits"]) == (1, 1, 1, 1)
        assert summary["suppressed_contacts"] == 2  # the e-mail, and the phone that is also the WhatsApp

    async def test_it_is_audited_without_personal_data(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, manager: User
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        person_id = people["joana"]["person"]["id"]
        await as_manager.post(f"/v1/people/{person_id}/anonymise")
        async with db.session(factories.owner_scope(tenant)) as session:
            entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "anonymise"))).scalars()
            [entry] = list(entries)
        assert (str(entry.entity_id), entry.actor_id, entry.changes) == (
            person_id,
            manager.id,
            {"reason": [None, "subject_request"]},
        )


class TestTheSuppressionList:
    async def test_holds_only_hashes_of_the_contacts(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        await as_manager.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")
        async with db.session(factories.owner_scope(tenant)) as session:
            rows = list((await session.execute(select(Suppression))).scalars())
        assert sorted(r.kind for r in rows) == ["email", "phone"]
        assert all(len(r.digest) == 64 and int(r.digest, 16) >= 0 for r in rows)


class TestWhoMayAnonymise:
    async def test_a_broker_is_refused(
        self, as_manager: httpx.AsyncClient, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        response = await as_broker.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")
        assert response.status_code == 403
        assert found_literals(await dump_text(db), JOANA) == JOANA.literals

    async def test_an_owner_may(self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        people = await _joana_and_twin(as_owner, db, tenant)
        assert (await as_owner.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")).status_code == 200

    async def test_another_tenants_person_is_not_found_and_untouched(
        self, app: Any, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        people = await _joana_and_twin(as_manager, db, tenant)
        rival = await factories.make_user(db, other_tenant, role=factories.Role.MANAGER, email="g@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            response = await as_rival.post(f"/v1/people/{people['joana']['person']['id']}/anonymise")
        assert response.status_code == 404
        assert found_literals(await dump_text(db), JOANA) == JOANA.literals
