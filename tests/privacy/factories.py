"""A data subject as the API builds them: a person with every kind of identity, a lead moved to won, a WhatsApp
message, a task and a visit that name them; and a full-text dump of the database to look for their literals."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from leadflow.kit.db import Database
from leadflow.kit.orm import Base
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Interaction, Lead, LeadStageHistory, Tenant
from tests import factories


@dataclass(frozen=True)
class Subject:
    name: str
    email: str
    phone: str  # as typed
    cpf: str  # as typed
    notes: str

    @property
    def literals(self) -> list[str]:
        """Every form their personal data may take in a row: as typed, normalised, and the parts that identify."""
        phone_digits = re.sub(r"\D", "", self.phone)  # "11987651234"
        cpf_digits = re.sub(r"\D", "", self.cpf)
        surname = self.name.split()[-1]
        return [
            self.name,
            surname,
            self.email,
            self.email.lower(),
            self.phone,
            "+55" + phone_digits,  # E.164
            phone_digits,
            phone_digits[2:],  # without DDD
            phone_digits[3:],  # without DDD and ninth digit (the match key's tail)
            f"{phone_digits[2:7]}-{phone_digits[7:]}",  # 98765-1234
            f"{phone_digits[3:7]}-{phone_digits[7:]}",  # 8765-1234
            self.cpf,
            cpf_digits,
            self.notes,
        ]


JOANA = Subject(
    name="Joana Prudente Vasconcelos",
    email="Joana.Vasconcelos@Exemplo.com.br",
    phone="(11) 98765-1234",
    cpf="529.982.247-25",
    notes="Prefere contato depois das 18h, mora com a mãe na Rua Harmonia",
)
# Deliberately similar to Joana: same first name, same DDD, neighbouring phone number.
JOANA_TWIN = Subject(
    name="Joana Prudente Almeida",
    email="joana.almeida@exemplo.com.br",
    phone="(11) 98765-4321",
    cpf="111.444.777-35",
    notes="Quer três dormitórios",
)


async def create_subject(client: httpx.AsyncClient, subject: Subject, *, owner_id: Any = None) -> dict[str, Any]:
    """The subject with a lead won for R$ 650.000, a WhatsApp message and a task naming them, and a visit."""
    person = await _ok(
        client.post(
            "/v1/people",
            json={
                "name": subject.name,
                "emails": [subject.email],
                "phones": [subject.phone],
                "whatsapp_ids": [subject.phone],
                "cpf_cnpj": subject.cpf,
                "notes": subject.notes,
            },
        )
    )
    lead = await _ok(
        client.post(
            "/v1/leads",
            json={
                "person_id": person["id"],
                "title": f"{subject.name} - apto Pinheiros",
                "value_cents": 65_000_000,
                "source": "portal_zap",
                "channel": "Paid Search",
                "owner_id": owner_id,
            },
        )
    )
    first_name = subject.name.split()[0]
    await _ok(
        client.post(
            "/v1/interactions",
            json={
                "lead_id": lead["id"],
                "channel": "whatsapp",
                "direction": "outbound",
                "subject": f"Retorno para {subject.name}",
                "body": f"Olá {first_name}! Seu e-mail {subject.email} e telefone {subject.phone} estão certos?",
            },
        )
    )
    await _ok(
        client.post(
            "/v1/tasks",
            json={
                "lead_id": lead["id"],
                "title": f"Ligar para {subject.name}",
                "notes": f"CPF {subject.cpf}",
                "due_at": (utcnow() + timedelta(days=1)).isoformat(),
            },
        )
    )
    await _ok(
        client.post(
            "/v1/visits",
            json={
                "lead_id": lead["id"],
                "scheduled_at": (utcnow() + timedelta(days=2)).isoformat(),
                "notes": f"Encontrar {subject.name} na portaria",
            },
        )
    )
    return {"person": person, "lead": lead}


async def win(client: httpx.AsyncClient, lead: dict[str, Any], won_stage_id: str) -> None:
    await _ok(client.post(f"/v1/leads/{lead['id']}/move", json={"stage_id": won_stage_id}))


async def _ok(call: Any) -> dict[str, Any]:
    response: httpx.Response = await call
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def dump_text(db: Database) -> dict[str, str]:
    """Every value of every column of every table, as text (JSON as JSON, bytes as Latin-1), per table."""
    dump: dict[str, str] = {}
    async with db.session(Scope.system()) as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            dump[table.name] = "\n".join(_text(value) for row in rows for value in row)
    return dump


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def found_literals(dump: dict[str, str], subject: Subject) -> list[str]:
    """The subject's literals found anywhere, in the order of ``Subject.literals``."""
    return [literal for literal in subject.literals if where(dump, literal)]


def where(dump: dict[str, str], literal: str) -> list[str]:
    """The tables holding ``literal`` (any case): what a failing assertion shows."""
    return [table for table, text in dump.items() if literal.casefold() in text.casefold()]


def leaks(dump: dict[str, str], subject: Subject) -> dict[str, list[str]]:
    return {literal: tables for literal in subject.literals if (tables := where(dump, literal))}


async def kpis(db: Database, tenant: Tenant) -> dict[str, Any]:
    """What the dashboards count: leads per stage, status, source and channel, won value, time in stages,
    interactions per channel, first responses."""
    async with db.session(factories.owner_scope(tenant)) as session:

        async def grouped(*columns: Any) -> list[tuple[Any, ...]]:
            stmt = select(*columns, func.count()).group_by(*columns).order_by(*columns)
            return [tuple(str(v) for v in row) for row in (await session.execute(stmt)).all()]

        won = select(func.sum(Lead.value_cents)).where(Lead.status == "won")
        return {
            "by_stage": await grouped(Lead.stage_id, Lead.status),
            "by_source": await grouped(Lead.source, Lead.channel, Lead.utm_campaign),
            "won_cents": (await session.execute(won)).scalar(),
            "seconds_in_stages": await grouped(LeadStageHistory.to_stage_id, LeadStageHistory.seconds_in_previous),
            "interactions": await grouped(Interaction.channel, Interaction.direction),
            "first_responses": await grouped(Lead.first_responded_at, Lead.first_response_due_at, Lead.closed_at),
        }
