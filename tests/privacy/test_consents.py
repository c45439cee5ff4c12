"""Purposes with their legal bases, and the consent log: append-only per person, purpose and channel, the latest
entry is the current state; a WhatsApp "SAIR" withdraws marketing; marketing is allowed only as the log says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Person, Role, Tenant
from leadflow.privacy import service
from tests import factories


@pytest.fixture
async def maria(db: Database, tenant: Tenant) -> Person:
    return await factories.make_person(db, tenant, phone="(11) 98765-4321", email="maria@exemplo.com.br")


def _scope(tenant: Tenant) -> Scope:
    return factories.owner_scope(tenant)


async def _consent(client: httpx.AsyncClient, person: Person, **fields: Any) -> httpx.Response:
    body = {"purpose": "marketing", "channel": "whatsapp", "granted": True, **fields}
    return await client.post(f"/v1/people/{person.id}/privacy/consents", json=body)


class TestPurposes:
    async def test_a_tenant_starts_with_the_usual_purposes_and_their_legal_bases(
        self, as_broker: httpx.AsyncClient
    ) -> None:
        purposes = {p["key"]: p for p in (await as_broker.get("/v1/privacy/purposes")).json()}
        assert purposes["atendimento"]["legal_basis"] == "execucao_de_contrato"
        assert (purposes["marketing"]["legal_basis"], purposes["marketing"]["is_marketing"]) == ("consentimento", True)
        assert purposes["registros"]["legal_basis"] == "obrigacao_legal"

    async def test_a_manager_redefines_marketing_under_legitimate_interest_with_its_assessment(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        body = {"key": "marketing", "name": "Novidades", "legal_basis": "legitimo_interesse", "is_marketing": True}
        assert (await as_manager.post("/v1/privacy/purposes", json=body)).status_code == 422
        body["legitimate_interest_assessment"] = "Clientes que pediram informações esperam lançamentos parecidos."
        assert (await as_manager.post("/v1/privacy/purposes", json=body)).status_code == 201
        purposes = {p["key"]: p for p in (await as_manager.get("/v1/privacy/purposes")).json()}
        assert (purposes["marketing"]["legal_basis"], purposes["marketing"]["is_default"]) == (
            "legitimo_interesse",
            False,
        )
        assert (await as_manager.post("/v1/privacy/purposes", json=body)).status_code == 409

    async def test_a_broker_may_not_define_purposes(self, as_broker: httpx.AsyncClient) -> None:
        body = {"key": "pesquisa", "name": "Pesquisa", "legal_basis": "consentimento"}
        assert (await as_broker.post("/v1/privacy/purposes", json=body)).status_code == 403

    async def test_purposes_are_per_tenant(
        self, app: FastAPI, as_manager: httpx.AsyncClient, db: Database, other_tenant: Tenant
    ) -> None:
        body = {"key": "pesquisa", "name": "Pesquisa de satisfação", "legal_basis": "consentimento"}
        await as_manager.post("/v1/privacy/purposes", json=body)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            keys = [p["key"] for p in (await as_rival.get("/v1/privacy/purposes")).json()]
        assert "pesquisa" not in keys


class TestTheConsentLog:
    async def test_a_withdrawal_is_a_new_entry_and_the_latest_is_the_current_state(
        self, as_broker: httpx.AsyncClient, maria: Person
    ) -> None:
        await _consent(as_broker, maria, source="form:lancamento-aurora", text_version="aviso-2026-03")
        await _consent(as_broker, maria, granted=False, source="console")
        summary = (await as_broker.get(f"/v1/people/{maria.id}/privacy/consents")).json()
        assert [(e["status"], e["source"]) for e in summary["log"]] == [
            ("given", "form:lancamento-aurora"),
            ("withdrawn", "console"),
        ]
        assert summary["log"][0]["text_version"] == "aviso-2026-03"
        assert summary["log"][0]["legal_basis"] == "consentimento"
        [state] = summary["current"]
        assert (state["purpose"], state["channel"], state["granted"]) == ("marketing", "whatsapp", False)

    async def test_it_records_who_granted(self, as_broker: httpx.AsyncClient, maria: Person, broker: Any) -> None:
        entry = (await _consent(as_broker, maria)).json()
        assert entry["recorded_by_id"] == str(broker.id)

    async def test_a_purpose_outside_the_catalogue_cannot_be_consented_to(
        self, as_broker: httpx.AsyncClient, maria: Person
    ) -> None:
        response = await _consent(as_broker, maria, purpose="all")
        assert response.status_code == 404

    async def test_a_viewer_may_read_but_not_record(self, as_viewer: httpx.AsyncClient, maria: Person) -> None:
        assert (await as_viewer.get(f"/v1/people/{maria.id}/privacy/consents")).status_code == 200
        assert (await _consent(as_viewer, maria)).status_code == 403

    async def test_another_tenants_person_is_not_found(
        self, as_broker: httpx.AsyncClient, db: Database, other_tenant: Tenant
    ) -> None:
        theirs = await factories.make_person(db, other_tenant)
        assert (await _consent(as_broker, theirs)).status_code == 404
        assert (await as_broker.get(f"/v1/people/{theirs.id}/privacy/consents")).status_code == 404


class TestOptOutFromAMessage:
    @pytest.mark.parametrize("text", ["SAIR", "Parar.", "  stop ", "PARE!", "Descadastrar"])
    async def test_an_opt_out_word_withdraws_marketing_on_that_channel(
        self, db: Database, tenant: Tenant, maria: Person, text: str
    ) -> None:
        async with db.session(_scope(tenant)) as session:
            opt_out = await service.record_opt_out_from_message(
                session,
                _scope(tenant),
                channel="whatsapp",
                sender="5511987654321",
                text=text,
                source="whatsapp:wamid.1",
            )
            assert opt_out.person_id == maria.id
            [entry] = opt_out.withdrawn
            assert (entry.purpose, entry.channel, entry.source) == ("marketing", "whatsapp", "whatsapp:wamid.1")
            permission = await service.marketing_permission(
                session, _scope(tenant), person_id=maria.id, channel="whatsapp"
            )
            assert permission.allowed is False

    @pytest.mark.parametrize("text", ["quero sair do aluguel", "Pode parar de ligar às 8h?", "sim", ""])
    async def test_an_ordinary_message_changes_nothing(
        self, db: Database, tenant: Tenant, maria: Person, text: str
    ) -> None:
        async with db.session(_scope(tenant)) as session:
            opt_out = await service.record_opt_out_from_message(
                session, _scope(tenant), channel="whatsapp", sender="+55 11 98765-4321", text=text
            )
            assert (opt_out.person_id, opt_out.withdrawn) == (None, [])

    async def test_an_unknown_sender_changes_nothing(self, db: Database, tenant: Tenant, maria: Person) -> None:
        async with db.session(_scope(tenant)) as session:
            opt_out = await service.record_opt_out_from_message(
                session, _scope(tenant), channel="whatsapp", sender="+55 21 99999-0000", text="SAIR"
            )
            assert opt_out.person_id is None

    async def test_a_sender_of_another_tenant_is_unknown_here(
        self, db: Database, tenant: Tenant, other_tenant: Tenant, maria: Person
    ) -> None:
        async with db.session(_scope(other_tenant)) as session:
            opt_out = await service.record_opt_out_from_message(
                session, _scope(other_tenant), channel="whatsapp", sender="5511987654321", text="SAIR"
            )
            assert opt_out.person_id is None


class TestMarketingPermission:
    async def _allowed(self, db: Database, tenant: Tenant, person: Person, channel: str = "whatsapp") -> bool:
        async with db.session(_scope(tenant)) as session:
            permission = await service.marketing_permission(
                session, _scope(tenant), person_id=person.id, channel=channel
            )
            return permission.allowed

    async def test_under_consent_nobody_gets_marketing_before_granting(
        self, db: Database, tenant: Tenant, maria: Person
    ) -> None:
        assert await self._allowed(db, tenant, maria) is False

    async def test_a_grant_allows_that_channel_only(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, maria: Person
    ) -> None:
        await _consent(as_broker, maria, channel="email")
        assert await self._allowed(db, tenant, maria, "email") is True
        assert await self._allowed(db, tenant, maria, "whatsapp") is False

    async def test_a_grant_on_any_channel_allows_each_until_a_withdrawal_on_one(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, maria: Person
    ) -> None:
        await _consent(as_broker, maria, channel="any")
        assert await self._allowed(db, tenant, maria, "sms") is True
        await _consent(as_broker, maria, channel="sms", granted=False)
        assert await self._allowed(db, tenant, maria, "sms") is False
        assert await self._allowed(db, tenant, maria, "email") is True

    async def test_under_legitimate_interest_marketing_goes_until_the_person_objects(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, maria: Person
    ) -> None:
        purpose = {
            "key": "marketing", "name": "Novidades", "legal_basis": "legitimo_interesse", "is_marketing": True,
            "legitimate_interest_assessment": "Clientes que pediram informações esperam lançamentos parecidos.",
        }  # fmt: skip
        await as_manager.post("/v1/privacy/purposes", json=purpose)
        assert await self._allowed(db, tenant, maria) is True
        await _consent(as_manager, maria, granted=False)
        assert await self._allowed(db, tenant, maria) is False
