"""Importing people (clientes/contatos): deduplicated by e-mail, phone (with or without the ninth digit), WhatsApp
and CPF/CNPJ through the person feature's own matching; a match is a duplicate (mode create) or is updated
(mode upsert: the cells given overwrite, new e-mails and phones are added, tags are joined)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.dataimport.custom import custom_values
from leadflow.dataimport.mapping import FieldSpec, synonym_table
from leadflow.dataimport.rows import (
    Cell,
    ImportContext,
    MappedRow,
    RowErrors,
    RowInvalid,
    RowResult,
    errors_of,
)
from leadflow.dataimport.values import parse_date, parse_list
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.models import ImportedRow, Person
from leadflow.models.dataimport import ImportMode
from leadflow.person.identities import (
    IdentityValue,
    document_identity,
    email_identity,
    phone_identity,
    whatsapp_identity,
)
from leadflow.person.schemas import PersonCreate, PersonRead, PersonUpdate
from leadflow.person.service import (
    create_person,
    delete_person,
    find_people_by_identity,
    read_person,
    update_person,
)
from leadflow.privacy.service import any_suppressed

ENTITY_TYPE = "person"
# LGPD: an anonymised person's e-mail or phone is on the suppression list; an import must not bring them back.
SUPPRESSED = "contact of an anonymised person (LGPD suppression list): not re-created"
PERSON_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("Full name (required for a new person)"),
    "email": FieldSpec("E-mail; several columns may feed it", many=True),
    "phone": FieldSpec("Phone in any format (DDD, ninth digit); several columns may feed it", many=True),
    "whatsapp": FieldSpec("WhatsApp number or id", many=True),
    "cpf_cnpj": FieldSpec("CPF or CNPJ, punctuation allowed"),
    "birth_date": FieldSpec("Birth date, 14/03/1985 or 1985-03-14"),
    "notes": FieldSpec("Notes"),
    "tags": FieldSpec("Tags separated by , | or ;", many=True),
}
PERSON_SYNONYMS = synonym_table(
    {
        "name": ["nome", "nome completo", "full name", "cliente", "contato", "nome do cliente", "nome do contato"],
        "email": ["e-mail", "e mail", "email do cliente", "correio eletronico"],
        "phone": ["telefone", "celular", "fone", "tel", "whatsapp", "whats", "zap", "mobile", "cel", "telefone fixo"],
        "cpf_cnpj": ["cpf", "cnpj", "cpf/cnpj", "cpf ou cnpj", "documento", "doc"],
        "birth_date": ["data de nascimento", "nascimento", "aniversario", "data nascimento", "birthday", "birth date"],
        "notes": ["observacoes", "observacao", "obs", "notas", "anotacoes", "comentarios"],
        "tags": ["etiquetas", "marcadores", "tag"],
    }
)
IDENTITY_LISTS: tuple[tuple[str, str, Callable[[str], IdentityValue]], ...] = (
    ("email", "emails", email_identity),
    ("phone", "phones", phone_identity),
    ("whatsapp", "whatsapp_ids", whatsapp_identity),
)


@dataclass
class PersonDraft:
    """The person a line describes, already normalised; ``origins`` maps API field paths to CSV columns."""

    name: str | None = None
    identities: dict[str, list[IdentityValue]] = field(default_factory=dict)  # emails, phones, whatsapp_ids
    document: IdentityValue | None = None
    birth_date: date | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def has_identity(self) -> bool:
        return self.document is not None or any(self.identities.values())

    def create_schema(self) -> PersonCreate:
        return PersonCreate.model_validate(
            {
                "name": self.name,
                **{name: [v.value for v in values] for name, values in self.identities.items()},
                "cpf_cnpj": self.document.value if self.document else None,
                "birth_date": self.birth_date,
                "notes": self.notes,
                "tags": self.tags,
                "custom_fields": self.custom_fields,
            }
        )


async def read_person_draft(ctx: ImportContext, row: MappedRow, errors: RowErrors) -> PersonDraft:
    """Parse the person fields of a line, collecting an error per bad cell (named by its column)."""
    draft = PersonDraft()
    if (name := row.first("name")) is not None:
        draft.name = name.value
        draft.origins["name"] = name.column
    for source, target, parse in IDENTITY_LISTS:
        draft.identities[target] = _identities(row.every(source), target, parse, errors, draft.origins)
    if (document := row.first("cpf_cnpj")) is not None:
        draft.document = errors.read(document, document_identity)
        draft.origins["cpf_cnpj"] = document.column
    draft.birth_date = _read_noting(row.first("birth_date"), parse_date, errors, draft.origins, "birth_date")
    if (notes := row.first("notes")) is not None:
        draft.notes = notes.value
        draft.origins["notes"] = notes.column
    for cell in row.every("tags"):
        draft.tags = list(dict.fromkeys([*draft.tags, *parse_list(cell.value)]))
        draft.origins["tags"] = cell.column
    draft.custom_fields, custom_origins = await custom_values(ctx, row, ENTITY_TYPE, errors)
    draft.origins.update(custom_origins)
    return draft


def _identities(
    cells: list[Cell],
    target: str,
    parse: Callable[[str], IdentityValue],
    errors: RowErrors,
    origins: dict[str, str],
) -> list[IdentityValue]:
    values: list[IdentityValue] = []
    for cell in cells:
        for item in parse_list(cell.value):  # one cell may hold several: "a@x.com, b@y.com" (as exports write)
            value = errors.read(Cell(cell.column, cell.field, item), parse)
            if value is not None and all(v.match_key != value.match_key for v in values):
                origins[f"{target}.{len(values)}"] = cell.column
                values.append(value)
    return values


def _read_noting(
    cell: Cell | None, parse: Callable[[str], Any], errors: RowErrors, origins: dict[str, str], name: str
) -> Any:
    if cell is not None:
        origins[name] = cell.column
    return errors.read(cell, parse)


async def matching_people(ctx: ImportContext, draft: PersonDraft) -> list[Person]:
    """Living people sharing any identity of the draft, oldest first."""
    lookups: list[dict[str, str]] = [{"email": v.value} for v in draft.identities.get("emails", [])]
    lookups += [{"phone": v.value} for v in draft.identities.get("phones", [])]
    lookups += [{"whatsapp_id": v.value} for v in draft.identities.get("whatsapp_ids", [])]
    if draft.document is not None:
        lookups.append({"cpf_cnpj": draft.document.value})
    found: dict[uuid.UUID, Person] = {}
    for lookup in lookups:
        for person in await find_people_by_identity(ctx.session, ctx.scope, **lookup):
            found.setdefault(person.id, person)
    return sorted(found.values(), key=lambda p: (p.created_at, p.id))


async def create_from_draft(ctx: ImportContext, draft: PersonDraft) -> Person:
    if await any_suppressed(ctx.session, ctx.scope, identities=chain(*draft.identities.values())):
        raise RowInvalid([{"field": None, "message": SUPPRESSED}])
    try:
        return await create_person(ctx.session, ctx.scope, data=draft.create_schema())
    except (ValidationError, ValidationFailed) as exc:
        raise RowInvalid(errors_of(exc, draft.origins)) from exc


def single_match(matches: list[Person]) -> Person:
    """The one person a line matches; matching several is an error (merging them is a person's decision)."""
    if len(matches) > 1:
        ids = ", ".join(str(p.id) for p in matches[:5])
        message = f"matches {len(matches)} different people ({ids}): merge them first"
        raise RowInvalid([{"field": None, "message": message}])
    return matches[0]


# Upsert


async def update_from_draft(ctx: ImportContext, person: Person, draft: PersonDraft) -> dict[str, Any] | None:
    """Apply what the draft changes; returns the values before (for a revert), or None when nothing changed."""
    current = await read_person(ctx.session, person)
    changes = _changes(current, draft)
    if not changes:
        return None
    before = {name: getattr(current, name) for name in changes if name != "custom_fields"}
    if "custom_fields" in changes:
        before["custom_fields"] = {key: current.custom_fields.get(key) for key in changes["custom_fields"]}
    try:
        await update_person(ctx.session, ctx.scope, person_id=person.id, data=PersonUpdate.model_validate(changes))
    except (ValidationError, ValidationFailed) as exc:
        raise RowInvalid(errors_of(exc, draft.origins)) from exc
    return before


def _changes(current: PersonRead, draft: PersonDraft) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in (("name", draft.name), ("birth_date", draft.birth_date), ("notes", draft.notes)):
        if value is not None and value != getattr(current, name):
            changes[name] = value
    if draft.document is not None and draft.document.value != current.cpf_cnpj:
        changes["cpf_cnpj"] = draft.document.value
    for _, target, parse in IDENTITY_LISTS:
        held: list[str] = getattr(current, target)
        added = _new_identities(held, draft.identities.get(target, []), parse)
        if added:
            changes[target] = [*held, *added]
    if new_tags := [tag for tag in draft.tags if tag not in current.tags]:
        changes["tags"] = [*current.tags, *new_tags]
    custom = {k: v for k, v in draft.custom_fields.items() if current.custom_fields.get(k) != v}
    if custom:
        changes["custom_fields"] = custom
    return changes


def _new_identities(held: list[str], wanted: list[IdentityValue], parse: Callable[[str], IdentityValue]) -> list[str]:
    held_keys = {parse(value).match_key for value in held}
    return [value.value for value in wanted if value.match_key not in held_keys]


class PeopleImporter:
    fields = PERSON_FIELDS
    synonyms = PERSON_SYNONYMS
    custom_field_entity = ENTITY_TYPE

    async def import_row(self, ctx: ImportContext, row: MappedRow) -> RowResult:
        errors = RowErrors()
        draft = await read_person_draft(ctx, row, errors)
        errors.raise_if_any()
        matches = await matching_people(ctx, draft) if draft.has_identity else []
        if not matches:
            if draft.name is None:
                raise RowInvalid([{"field": row.column_for("name"), "message": "empty: a new person needs a name"}])
            person = await create_from_draft(ctx, draft)
            return RowResult.created(ENTITY_TYPE, person.id)
        if ctx.mode is ImportMode.CREATE:
            return RowResult.duplicate(matches[0].id)
        person = single_match(matches)
        before = await update_from_draft(ctx, person, draft)
        if before is None:
            return RowResult.duplicate(person.id)
        return RowResult.updated(ENTITY_TYPE, person.id, before)


async def revert_person(session: AsyncSession, scope: Scope, imported: ImportedRow) -> None:
    """Soft-delete a person the import created, or put back the values it overwrote."""
    if imported.action == "created":
        await delete_person(session, scope, person_id=imported.entity_id)
        return
    await update_person(session, scope, person_id=imported.entity_id, data=PersonUpdate.model_validate(imported.before))
