"""CSV exports of the lead, people and property lists, for Excel pt-BR: ``;``-separated UTF-8 with a BOM, money as
"1234567,89", dates as "23/11/2026 14:05" in the tenant's time zone, headers in Portuguese that the import maps
back (an export imports again unchanged).

Each export takes the list's own filters and pages through the list's own service function with its keyset
cursor, so what it selects, and what the actor may see (a broker exports their own leads), is exactly what the
list shows. The first page is read with the request's session (a bad filter or cursor is a normal 4xx answer);
every further page in its own short session while the body streams, so a slow download never holds a
transaction (on SQLite that would hold the write lock).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.dataimport.repository import NameLookup
from leadflow.kit.db import Database
from leadflow.kit.pagination import MAX_LIMIT
from leadflow.kit.scope import Scope
from leadflow.lead.schemas import LeadFilters, LeadRead, LeadSort
from leadflow.lead.service import list_leads
from leadflow.models import LeadStatus, ListingPurpose, Pipeline, Property, PropertyStatus, PropertyType, Stage, User
from leadflow.person.schemas import PersonFilters, PersonRead
from leadflow.person.service import list_people
from leadflow.property.schemas import PropertyFilters, PropertySort
from leadflow.property.service import list_properties

BOM = "\ufeff"
DELIMITER = ";"
DEFAULT_TIME_ZONE = "America/Sao_Paulo"
# A cell Excel would run as a formula (=, @, +cmd, -cmd, …) is prefixed with "'"; numbers and phones are not.
_FORMULA_START = re.compile(r"^[=@\t\r]|^[+-](?![0-9 ().,]*$)")
LIST_JOIN = ", "

Cells = list[str]
PageFetcher = Callable[[AsyncSession, str | None], Awaitable[tuple[list[Cells], str | None]]]

PEOPLE_HEADER = ["Nome", "E-mail", "Telefone", "WhatsApp", "CPF/CNPJ", "Data de nascimento", "Tags", "Observações"]
PEOPLE_HEADER += ["Criado em", "ID"]
LEADS_HEADER = ["Nome", "E-mail", "Telefone", "Funil", "Etapa", "Status", "Corretor", "Valor", "Temperatura"]
LEADS_HEADER += ["Origem", "Canal", "Campanha", "Título", "Tags", "Criado em", "Atualizado em", "ID"]
PROPERTIES_HEADER = ["Referência", "Título", "Tipo", "Finalidade", "Situação", "Preço", "Condomínio", "IPTU"]
PROPERTIES_HEADER += ["Área útil", "Área total", "Quartos", "Suítes", "Banheiros", "Vagas", "CEP", "Rua", "Número"]
PROPERTIES_HEADER += ["Complemento", "Bairro", "Cidade", "UF", "Características", "Captador", "Criado em", "ID"]
LABELS: dict[Enum, str] = {
    LeadStatus.OPEN: "aberto",
    LeadStatus.WON: "ganho",
    LeadStatus.LOST: "perdido",
    PropertyType.APARTMENT: "Apartamento",
    PropertyType.HOUSE: "Casa",
    PropertyType.CONDO_HOUSE: "Casa em condomínio",
    PropertyType.PENTHOUSE: "Cobertura",
    PropertyType.STUDIO: "Studio",
    PropertyType.LAND: "Terreno",
    PropertyType.OFFICE: "Sala comercial",
    PropertyType.SHOP: "Loja",
    PropertyType.WAREHOUSE: "Galpão",
    PropertyType.FARM: "Chácara",
    ListingPurpose.SALE: "Venda",
    ListingPurpose.RENT: "Locação",
    PropertyStatus.AVAILABLE: "Disponível",
    PropertyStatus.RESERVED: "Reservado",
    PropertyStatus.SOLD: "Vendido",
    PropertyStatus.RENTED: "Alugado",
    PropertyStatus.INACTIVE: "Inativo",
}


# Cells


def money(cents: int | None) -> str:
    """123456789 -> '1234567,89' (Excel pt-BR reads it as a number)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole},{fraction:02d}"


def decimal_br(value: Decimal | float | None) -> str:
    return "" if value is None else f"{Decimal(str(value)):f}".replace(".", ",")


def safe_cell(text: str) -> str:
    """Text as Excel shows it and never runs it (CSV injection)."""
    return "'" + text if _FORMULA_START.match(text) else text


class Formatter:
    """Turns values into cells in the tenant's time zone."""

    def __init__(self, time_zone: str) -> None:
        try:
            self.zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo(DEFAULT_TIME_ZONE)

    def when(self, value: datetime | None) -> str:
        return "" if value is None else value.astimezone(self.zone).strftime("%d/%m/%Y %H:%M")

    @staticmethod
    def day(value: date | None) -> str:
        return "" if value is None else value.strftime("%d/%m/%Y")

    @staticmethod
    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, Enum):
            return LABELS.get(value, str(value.value))
        if isinstance(value, list | tuple):
            return safe_cell(LIST_JOIN.join(str(v) for v in value))
        return safe_cell(str(value))


def encode(rows: Iterable[Cells]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# Streaming


async def start_export(
    session: AsyncSession, scope: Scope, *, db: Database, header: Cells, fetch: PageFetcher
) -> AsyncIterator[bytes]:
    """Read the first page now, and return the body: the BOM and header, then every page in turn."""
    rows, cursor = await fetch(session, None)
    return _body(db, scope, header, rows, cursor, fetch)


async def _body(
    db: Database, scope: Scope, header: Cells, rows: list[Cells], cursor: str | None, fetch: PageFetcher
) -> AsyncIterator[bytes]:
    yield BOM.encode("utf-8") + encode([header, *rows])
    while cursor is not None:
        async with db.session(scope) as session:
            rows, cursor = await fetch(session, cursor)
        yield encode(rows)


# The three lists


async def export_people(
    session: AsyncSession, scope: Scope, *, db: Database, filters: PersonFilters, time_zone: str
) -> AsyncIterator[bytes]:
    """The people list as CSV, with the list's filters (``GET /v1/people``)."""
    fmt = Formatter(time_zone)

    async def fetch(page_session: AsyncSession, cursor: str | None) -> tuple[list[Cells], str | None]:
        people, next_cursor = await list_people(page_session, scope, filters=filters, cursor=cursor, limit=MAX_LIMIT)
        return [_person_cells(fmt, person) for person in people], next_cursor

    return await start_export(session, scope, db=db, header=PEOPLE_HEADER, fetch=fetch)


def _person_cells(fmt: Formatter, person: PersonRead) -> Cells:
    t = fmt.text
    return [
        t(person.name),
        t(person.emails),
        t(person.phones),
        t(person.whatsapp_ids),
        t(person.cpf_cnpj),
        fmt.day(person.birth_date),
        t(person.tags),
        t(person.notes),
        fmt.when(person.created_at),
        str(person.id),
    ]


async def export_leads(
    session: AsyncSession,
    scope: Scope,
    *,
    db: Database,
    filters: LeadFilters,
    sort: LeadSort,
    time_zone: str,
) -> AsyncIterator[bytes]:
    """The lead list as CSV, with the list's filters and sort (``GET /v1/leads``), within the actor's visibility."""
    fmt = Formatter(time_zone)

    async def fetch(page_session: AsyncSession, cursor: str | None) -> tuple[list[Cells], str | None]:
        leads, next_cursor = await list_leads(
            page_session, scope, filters=filters, sort=sort, cursor=cursor, limit=MAX_LIMIT
        )
        names = await _lead_names(page_session, leads)
        return [_lead_cells(fmt, lead, names) for lead in leads], next_cursor

    return await start_export(session, scope, db=db, header=LEADS_HEADER, fetch=fetch)


async def _lead_names(session: AsyncSession, leads: Sequence[LeadRead]) -> dict[uuid.UUID, str]:
    """Pipeline and stage names and owner e-mails of a page, in three queries."""
    lookup = NameLookup(session)
    names = await lookup.names(Pipeline, Pipeline.name, {lead.pipeline_id for lead in leads})
    names |= await lookup.names(Stage, Stage.name, {lead.stage_id for lead in leads})
    return names | await lookup.names(User, User.email, {lead.owner_id for lead in leads if lead.owner_id})


def _lead_cells(fmt: Formatter, lead: LeadRead, names: dict[uuid.UUID, str]) -> Cells:
    t = fmt.text
    return [
        t(lead.person_name),
        t(lead.person_email),
        t(lead.person_phone),
        t(names.get(lead.pipeline_id)),
        t(names.get(lead.stage_id)),
        t(lead.status),
        t(names.get(lead.owner_id) if lead.owner_id else None),
        money(lead.value_cents),
        t(lead.temperature.value if lead.temperature else None),
        t(lead.source),
        t(lead.channel),
        t(lead.utm_campaign),
        t(lead.title),
        t(lead.tags),
        fmt.when(lead.created_at),
        fmt.when(lead.updated_at),
        str(lead.id),
    ]


async def export_properties(
    session: AsyncSession,
    scope: Scope,
    *,
    db: Database,
    filters: PropertyFilters,
    sort: PropertySort,
    time_zone: str,
) -> AsyncIterator[bytes]:
    """The property list as CSV, with the list's filters and sort (``GET /v1/properties``)."""
    fmt = Formatter(time_zone)

    async def fetch(page_session: AsyncSession, cursor: str | None) -> tuple[list[Cells], str | None]:
        props, next_cursor = await list_properties(
            page_session, scope, filters=filters, sort=sort, cursor=cursor, limit=MAX_LIMIT
        )
        brokers = {p.listing_broker_id for p in props if p.listing_broker_id}
        emails = await NameLookup(page_session).names(User, User.email, brokers)
        return [_property_cells(fmt, prop, emails) for prop in props], next_cursor

    return await start_export(session, scope, db=db, header=PROPERTIES_HEADER, fetch=fetch)


def _property_cells(fmt: Formatter, prop: Property, emails: dict[uuid.UUID, str]) -> Cells:
    t = fmt.text
    return [
        t(prop.reference),
        t(prop.title),
        t(prop.type),
        t(prop.purpose),
        t(prop.status),
        money(prop.price_cents),
        money(prop.condo_fee_cents),
        money(prop.iptu_cents),
        decimal_br(prop.private_area),
        decimal_br(prop.total_area),
        *(t(n) for n in (prop.bedrooms, prop.suites, prop.bathrooms, prop.parking)),
        *(t(v) for v in (prop.cep, prop.street, prop.number, prop.complement, prop.neighbourhood, prop.city)),
        t(prop.uf),
        t(prop.features),
        t(emails.get(prop.listing_broker_id) if prop.listing_broker_id else None),
        fmt.when(prop.created_at),
        str(prop.id),
    ]
