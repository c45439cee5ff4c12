from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.repository import Repository
from leadflow.models import (
    Attachment,
    Consent,
    IdentityKind,
    Interaction,
    Lead,
    Person,
    PersonIdentity,
    PersonMerge,
    Task,
)
from leadflow.models.person import PHONE_TAIL_DIGITS, name_search_key
from leadflow.person.identities import DOCUMENT_KINDS, PHONE_KINDS, MatchKeys, PhoneQuery, phone_query
from leadflow.person.schemas import PersonFilters

# Rows that belong to a person through their ``person_id`` and follow them in a merge, by the name the merge
# record keeps them under.
LINKED_ROWS: dict[str, type[Lead | Interaction | Task | Attachment | Consent]] = {
    "leads": Lead,
    "interactions": Interaction,
    "tasks": Task,
    "attachments": Attachment,
    "consents": Consent,
}
MAX_MATCHED_IDENTITIES = 500


def identities_matching(keys: MatchKeys) -> ColumnElement[bool]:
    """Identities that share a phone (by match key), an e-mail or a CPF/CNPJ with ``keys``."""
    clauses = [
        and_(PersonIdentity.kind.in_(kinds), PersonIdentity.match_key.in_(sorted(values)))
        for kinds, values in (
            (PHONE_KINDS, keys.phones),
            ((IdentityKind.EMAIL,), keys.emails),
            (DOCUMENT_KINDS, keys.documents),
        )
        if values
    ]
    return or_(*clauses) if clauses else false()


def people_matching_text(q: str) -> ColumnElement[bool]:
    """People whose name contains ``q`` (any case, accents optional), or an e-mail containing it, or a phone or
    WhatsApp number containing its digits or equal to it with or without the ninth digit.

    A query of eight digits or more is read as a number only: it finds the phones that end with it, in any
    format, through the indexed last eight digits, instead of scanning every name, e-mail and phone.

    Other features' repositories may use it (e.g. the lead list's ``q``) as ``Lead.person_id.in_(select(Person.id)
    .where(people_matching_text(q)))``.
    """
    text = q.strip()
    phone = phone_query(text)
    if phone is not None and len(phone.digits) >= PHONE_TAIL_DIGITS:
        return Person.id.in_(select(PersonIdentity.person_id).where(_phones_ending_with(phone)))
    identity = [
        and_(PersonIdentity.kind == IdentityKind.EMAIL, PersonIdentity.value.contains(text.lower(), autoescape=True))
    ]
    if phone is not None:
        identity.append(and_(PersonIdentity.kind.in_(PHONE_KINDS), PersonIdentity.value.contains(phone.digits)))
    by_identity = select(PersonIdentity.person_id).where(or_(*identity))
    return or_(Person.name_key.contains(name_search_key(text), autoescape=True), Person.id.in_(by_identity))


def _phones_ending_with(phone: PhoneQuery) -> ColumnElement[bool]:
    """Numbers whose last eight digits are the query's and whose earlier digits agree with the rest of it, with or
    without the ninth digit on either side (the query's match key covers a stored number without it)."""
    endings = [PersonIdentity.value.endswith(phone.digits)]
    without_ninth = drop_ninth_digit(phone.digits)
    if without_ninth != phone.digits:
        endings.append(PersonIdentity.value.endswith(without_ninth))
    if phone.match_key:
        endings.append(PersonIdentity.match_key == phone.match_key)
    return and_(
        PersonIdentity.kind.in_(PHONE_KINDS),
        PersonIdentity.phone_tail == phone.digits[-PHONE_TAIL_DIGITS:],
        or_(*endings),
    )


def drop_ninth_digit(digits: str) -> str:
    """The mobile number as written before the ninth digit (2012-2016): "11987654321" -> "1187654321"."""
    if len(digits) >= 9 and digits[-9] == "9":
        return digits[:-9] + digits[-8:]
    return digits


class PersonRepository(Repository[Person]):
    model = Person

    def filtered(self, filters: PersonFilters) -> Select[Any]:
        stmt = self.select()
        if filters.q and filters.q.strip():
            stmt = stmt.where(people_matching_text(filters.q))
        if filters.tag:
            stmt = stmt.where(self._has_tag(filters.tag))
        if filters.created_from:
            stmt = stmt.where(Person.created_at >= filters.created_from)
        if filters.created_to:
            stmt = stmt.where(Person.created_at < filters.created_to)
        return stmt

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        # JSON containment has no portable spelling: JSONB's @> on PostgreSQL, json_each on SQLite.
        if self.session.get_bind().dialect.name == "postgresql":
            return type_coerce(Person.tags, JSONB).contains([tag])
        each = func.json_each(Person.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Person]:
        if not ids:
            return []
        return list(await self.all(self.select().where(Person.id.in_(ids)).order_by(Person.created_at)))

    async def holding(self, kind: IdentityKind, match_key: str) -> Person | None:
        """The oldest living person holding this exact identity (a visitor's tracking id, say)."""
        by_identity = select(PersonIdentity.person_id).where(
            PersonIdentity.kind == kind, PersonIdentity.match_key == match_key
        )
        stmt = self.select().where(Person.id.in_(by_identity)).order_by(Person.created_at).limit(1)
        return (await self.session.scalars(stmt)).first()

    async def matching(self, keys: MatchKeys) -> list[Person]:
        if not keys:
            return []
        by_identity = select(PersonIdentity.person_id).where(identities_matching(keys))
        return list(await self.all(self.select().where(Person.id.in_(by_identity)).order_by(Person.created_at)))


class IdentityRepository(Repository[PersonIdentity]):
    model = PersonIdentity

    async def of_people(self, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PersonIdentity]]:
        """The identities of several people in one query (no N+1 on lists), primary first, then as added."""
        found: dict[uuid.UUID, list[PersonIdentity]] = defaultdict(list)
        if not person_ids:
            return found
        stmt = (
            select(PersonIdentity)
            .where(PersonIdentity.person_id.in_(person_ids))
            .order_by(PersonIdentity.is_primary.desc(), PersonIdentity.created_at, PersonIdentity.id)
        )
        for identity in await self.all(stmt):
            found[identity.person_id].append(identity)
        return found

    async def of_person(self, person_id: uuid.UUID) -> list[PersonIdentity]:
        return (await self.of_people([person_id])).get(person_id, [])

    async def shared_with_others(self, person_id: uuid.UUID, keys: MatchKeys) -> list[PersonIdentity]:
        """Other living people's identities that match ``keys`` (the join hides deleted and merged people)."""
        if not keys:
            return []
        stmt = (
            select(PersonIdentity)
            .join(Person, Person.id == PersonIdentity.person_id)
            .where(identities_matching(keys), PersonIdentity.person_id != person_id)
            .order_by(Person.created_at, PersonIdentity.id)
            .limit(MAX_MATCHED_IDENTITIES)
        )
        return list(await self.all(stmt))

    async def by_ids_of_person(self, ids: Sequence[uuid.UUID], person_id: uuid.UUID) -> list[PersonIdentity]:
        if not ids:
            return []
        stmt = select(PersonIdentity).where(PersonIdentity.id.in_(ids), PersonIdentity.person_id == person_id)
        return list(await self.all(stmt))


class ConsentRepository(Repository[Consent]):
    model = Consent

    def of_person(self, person_id: uuid.UUID) -> Select[Any]:
        return self.select().where(Consent.person_id == person_id)


class MergeRepository(Repository[PersonMerge]):
    model = PersonMerge

    async def undoable_into(self, survivor_id: uuid.UUID) -> list[tuple[PersonMerge, Person]]:
        """Merges into ``survivor_id`` not undone yet, newest first, each with the person it folded in (who is
        soft-deleted, hence ``include_deleted``)."""
        stmt = (
            select(PersonMerge, Person)
            .join(Person, Person.id == PersonMerge.merged_id)
            .where(PersonMerge.survivor_id == survivor_id, PersonMerge.undone_at.is_(None))
            .order_by(PersonMerge.created_at.desc())
            .execution_options(include_deleted=True)
        )
        return [(merge, person) for merge, person in (await self.session.execute(stmt)).all()]


class LinkedRowRepository:
    """Leads, interactions, tasks, attachments and consents of a person, for moving them in a merge.

    A merge moves every row of the person: deleted ones too, and leads the acting manager may not see (their
    visibility rule narrows what a user browses, not what belongs to the person). The tenant wall still applies.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_person(self, kind: str, person_id: uuid.UUID) -> list[Any]:
        model = LINKED_ROWS[kind]
        return await self._rows(select(model).where(model.person_id == person_id).order_by(model.id))

    async def by_ids_of_person(self, kind: str, ids: Sequence[uuid.UUID], person_id: uuid.UUID) -> list[Any]:
        if not ids:
            return []
        model = LINKED_ROWS[kind]
        return await self._rows(select(model).where(model.id.in_(ids), model.person_id == person_id))

    async def _rows(self, stmt: Select[Any]) -> list[Any]:
        stmt = stmt.execution_options(include_deleted=True, skip_visibility=True)
        return list((await self.session.execute(stmt)).scalars().all())
