"""People (clientes/contatos): their identities, consents, duplicates and merges."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.customfield.service import validate_custom_fields
from leadflow.kit import audit
from leadflow.kit.br import InvalidValue
from leadflow.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, wording
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Consent, ConsentStatus, IdentityKind, Person, PersonIdentity, PersonMerge
from leadflow.person.events import PersonUpdated
from leadflow.person.identities import (
    DOCUMENT_KINDS,
    IdentityValue,
    MatchKeys,
    ParsedIdentities,
    document_identity,
    email_identity,
    parse_identities,
    phone_identity,
    whatsapp_identity,
)
from leadflow.person.repository import (
    LINKED_ROWS,
    ConsentRepository,
    IdentityRepository,
    LinkedRowRepository,
    MergeRepository,
    PersonRepository,
)
from leadflow.person.schemas import (
    DEMOTED,
    ConsentCreate,
    DuplicateRead,
    MatchKind,
    MatchReason,
    PersonCreate,
    PersonFilters,
    PersonRead,
    PersonUpdate,
)
from leadflow.privacy.masking import mask_cpf, may_reveal

CUSTOM_FIELD_ENTITY = "person"
NOT_NULL = ("name", "emails", "phones", "whatsapp_ids", "tags", "custom_fields")
FILLABLE = ("cpf_cnpj", "birth_date", "notes")  # survivor fields a merge fills when empty (besides tags, custom)
MAX_DUPLICATES = 50
REASON_OF: dict[IdentityKind, MatchKind] = {
    IdentityKind.CPF: "cpf_cnpj",
    IdentityKind.CNPJ: "cpf_cnpj",
    IdentityKind.EMAIL: "email",
    IdentityKind.WHATSAPP: "whatsapp",
    IdentityKind.PHONE: "phone",
}
WEIGHT: dict[MatchKind, int] = {"cpf_cnpj": 100, "email": 70, "whatsapp": 60, "phone": 50}


class PersonNotFound(NotFound):
    code = "person-not-found"
    title = "Person not found"


class MergeNotFound(NotFound):
    code = "person-merge-not-found"
    title = "Merge not found"


class MergeAlreadyUndone(Conflict):
    code = "person-merge-already-undone"
    title = "Merge already undone"


def _acting_user(scope: Scope) -> uuid.UUID | None:
    return scope.actor_id if scope.actor_type == "user" else None


# Reading


async def read_people(session: AsyncSession, people: list[Person], *, reveal_cpf: bool = False) -> list[PersonRead]:
    """Render people with their e-mails, phones and WhatsApp ids, loading the identities of all in one query.
    A CPF is masked unless ``reveal_cpf`` (see :func:`reveal_person`)."""
    found = await IdentityRepository(session).of_people([p.id for p in people])
    return [_read(person, found.get(person.id, []), reveal_cpf=reveal_cpf) for person in people]


async def read_person(session: AsyncSession, person: Person) -> PersonRead:
    return (await read_people(session, [person]))[0]


async def reveal_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> PersonRead:
    """The person with their CPF in full: owners and managers (keys with "admin") only; every reveal is audited."""
    if not may_reveal(scope):
        raise Forbidden("your role may not reveal a CPF")
    person = await get_person(session, scope, person_id=person_id)
    audit.record(
        session, action="reveal", entity_type="people", entity_id=person.id, changes={"revealed": ["cpf_cnpj"]}
    )
    return (await read_people(session, [person], reveal_cpf=True))[0]


def _read(person: Person, identities: list[PersonIdentity], *, reveal_cpf: bool = False) -> PersonRead:
    def values(kind: IdentityKind) -> list[str]:
        return [i.value for i in identities if i.kind == kind]

    return PersonRead(
        id=person.id,
        name=person.name,
        emails=values(IdentityKind.EMAIL),
        phones=values(IdentityKind.PHONE),
        whatsapp_ids=values(IdentityKind.WHATSAPP),
        cpf_cnpj=person.cpf_cnpj if reveal_cpf else mask_cpf(person.cpf_cnpj),
        birth_date=person.birth_date,
        notes=person.notes,
        tags=person.tags,
        custom_fields=person.custom_fields,
        merged_into_id=person.merged_into_id,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


async def get_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> Person:
    """A living person of the scope's tenant; raises PersonNotFound (naming the survivor if they were merged)."""
    people = PersonRepository(session)
    person = await people.get(person_id)
    if person is not None:
        return person
    gone = await people.get(person_id, include_deleted=True)
    if gone is not None and gone.merged_into_id is not None:
        raise PersonNotFound(
            f"person {person_id} was merged into {gone.merged_into_id}", merged_into_id=str(gone.merged_into_id)
        )
    raise PersonNotFound(f"person {person_id} not found")


async def list_people(
    session: AsyncSession, scope: Scope, *, filters: PersonFilters, cursor: str | None, limit: int
) -> tuple[list[PersonRead], str | None]:
    people = PersonRepository(session)
    rows, next_cursor = await people.page(people.filtered(filters), cursor=cursor, limit=limit)
    return await read_people(session, rows), next_cursor


async def find_people_by_identity(
    session: AsyncSession,
    scope: Scope,
    *,
    phone: str | None = None,
    email: str | None = None,
    cpf_cnpj: str | None = None,
    whatsapp_id: str | None = None,
) -> list[Person]:
    """Living people holding any of these identities, oldest first.

    Phones and WhatsApp numbers meet each other, with or without the ninth digit; e-mails compare lower-cased;
    CPF/CNPJ by digits. A value that cannot be normalised matches nobody.
    """
    keys = MatchKeys()
    for raw, parser in (
        (phone, phone_identity),
        (email, email_identity),
        (cpf_cnpj, document_identity),
        (whatsapp_id, whatsapp_identity),
    ):
        keys.add(_leniently(parser, raw))
    return await PersonRepository(session).matching(keys)


async def find_visitor(session: AsyncSession, scope: Scope, *, tracking_id: str) -> Person | None:
    """The person a site visitor (t.js tracking id) was tied to by a form, an identify call or a chat."""
    return await PersonRepository(session).holding(IdentityKind.TRACKING_ID, tracking_id)


def _leniently(parser: Callable[[str], IdentityValue], raw: str | None) -> list[IdentityValue]:
    if raw is None:
        return []
    try:
        return [parser(raw)]
    except InvalidValue:
        return []


# Writing


async def create_person(session: AsyncSession, scope: Scope, *, data: PersonCreate) -> Person:
    """Create a person with normalised identities; 422 naming each invalid one (``phones.1``, ``cpf_cnpj``)."""
    parsed = parse_identities(emails=data.emails, phones=data.phones, whatsapp_ids=data.whatsapp_ids)
    document = _parse_document(data.cpf_cnpj, parsed)
    custom = await _checked_custom_fields(session, scope, data.custom_fields, parsed)
    _raise_if_invalid(parsed)
    person = PersonRepository(session).add(
        Person(
            name=data.name,
            cpf_cnpj=document.value if document else None,
            birth_date=data.birth_date,
            notes=data.notes,
            tags=data.tags,
            custom_fields=custom,
        )
    )
    await session.flush()
    await _replace_identities(session, person, parsed, document=[document] if document else [])
    await session.flush()
    return person


async def update_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, data: PersonUpdate) -> Person:
    """Change what ``data`` sends; a list sent replaces that set of identities. 422 names each invalid field."""
    person = await get_person(session, scope, person_id=person_id)
    _refuse_nulls(data)
    parsed = parse_identities(emails=data.emails, phones=data.phones, whatsapp_ids=data.whatsapp_ids)
    document = _parse_document(data.cpf_cnpj, parsed)
    custom = None
    if data.custom_fields is not None:
        custom = await _checked_custom_fields(session, scope, {**person.custom_fields, **data.custom_fields}, parsed)
    _raise_if_invalid(parsed)
    _apply_fields(person, data, document=document, custom_fields=custom)
    documents = ([document] if document else []) if "cpf_cnpj" in data.model_fields_set else None
    if await _replace_identities(session, person, parsed, document=documents):
        person.updated_at = utcnow()  # the identities are part of the person as the API shows it
    await session.flush()
    if data.model_fields_set:
        facts = {"person_id": str(person.id), "fields": sorted(data.model_fields_set)}
        enqueue(session, PersonUpdated(tenant_id=person.tenant_id, payload=facts))
    return person


def _apply_fields(
    person: Person, data: PersonUpdate, *, document: IdentityValue | None, custom_fields: dict[str, Any] | None
) -> None:
    for name in ("name", "birth_date", "notes", "tags"):
        if name in data.model_fields_set:
            setattr(person, name, getattr(data, name))
    if "cpf_cnpj" in data.model_fields_set:
        person.cpf_cnpj = document.value if document else None
    if custom_fields is not None:
        person.custom_fields = custom_fields


def _refuse_nulls(data: PersonUpdate) -> None:
    nulls = [name for name in NOT_NULL if name in data.model_fields_set and getattr(data, name) is None]
    if nulls:
        errors = [{"field": name, "message": "cannot be null"} for name in nulls]
        raise ValidationFailed(f"{', '.join(nulls)} cannot be null", errors=errors)


def _parse_document(raw: str | None, parsed: ParsedIdentities) -> IdentityValue | None:
    if raw is None or not raw.strip():
        return None
    try:
        return document_identity(raw)
    except InvalidValue as exc:
        parsed.errors.append({"field": "cpf_cnpj", "message": str(exc)})
        return None


async def _checked_custom_fields(
    session: AsyncSession, scope: Scope, values: dict[str, Any], parsed: ParsedIdentities
) -> dict[str, Any]:
    # Collected with the identity errors so one answer names every invalid field.
    try:
        return await validate_custom_fields(session, scope, entity=CUSTOM_FIELD_ENTITY, values=values)
    except ValidationFailed as exc:
        parsed.errors.extend(exc.errors or [])
        return {}


def _raise_if_invalid(parsed: ParsedIdentities) -> None:
    if parsed.errors:
        fields = ", ".join(e["field"] for e in parsed.errors)
        raise ValidationFailed(f"invalid: {fields}", errors=parsed.errors)


async def _replace_identities(
    session: AsyncSession, person: Person, parsed: ParsedIdentities, *, document: list[IdentityValue] | None
) -> bool:
    """Make each given set (e-mails, phones, WhatsApp ids, CPF/CNPJ) exactly the person's; True if any was given."""
    current = await IdentityRepository(session).of_person(person.id)
    wanted: list[tuple[tuple[IdentityKind, ...], list[IdentityValue] | None]] = [
        ((IdentityKind.EMAIL,), parsed.emails),
        ((IdentityKind.PHONE,), parsed.phones),
        ((IdentityKind.WHATSAPP,), parsed.whatsapp_ids),
        (DOCUMENT_KINDS, document),
    ]
    for kinds, values in wanted:
        if values is not None:
            await _replace_set(session, person, [i for i in current if i.kind in kinds], values)
    return any(values is not None for _, values in wanted)


async def _replace_set(
    session: AsyncSession, person: Person, current: list[PersonIdentity], wanted: list[IdentityValue]
) -> None:
    keep: dict[tuple[IdentityKind, str], PersonIdentity] = {}
    for row in current:
        key = (row.kind, row.value)
        if key in keep or not any((v.kind, v.value) == key for v in wanted):
            await session.delete(row)
        else:
            keep[key] = row
    for position, value in enumerate(wanted):
        identity = keep.get((value.kind, value.value))
        if identity is None:
            identity = PersonIdentity(
                person_id=person.id, kind=value.kind, value=value.value, match_key=value.match_key
            )
            session.add(identity)
        if identity.is_primary is not (position == 0):
            identity.is_primary = position == 0


async def attach_identity(session: AsyncSession, scope: Scope, *, person: Person, identity: IdentityValue) -> bool:
    """Give the person one more way to be recognised (a new e-mail from a form, a visitor's tracking id); nothing
    when they already have it. True when added."""
    return bool(await attach_identities(session, scope, person=person, identities=[identity]))


async def attach_identities(
    session: AsyncSession,
    scope: Scope,
    *,
    person: Person,
    identities: Sequence[IdentityValue],
    held: Sequence[IdentityValue] | None = None,
) -> int:
    """:func:`attach_identity` for several at once, reading the person's identities once; how many were added.
    ``held``: all the identities the person has, when the caller knows them (it created the person with them in
    this transaction), so they are not read back."""
    if not identities:
        return 0
    if held is None:
        keys = {(row.kind, row.match_key) for row in await IdentityRepository(session).of_person(person.id)}
    else:
        keys = {(identity.kind, identity.match_key) for identity in held}
    added = 0
    for identity in identities:
        if (identity.kind, identity.match_key) in keys:
            continue
        session.add(
            PersonIdentity(
                person_id=person.id,
                kind=identity.kind,
                value=identity.value,
                match_key=identity.match_key,
                is_primary=not any(kind == identity.kind for kind, _ in keys),
            )
        )
        keys.add((identity.kind, identity.match_key))
        added += 1
    return added


async def delete_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> None:
    (await get_person(session, scope, person_id=person_id)).deleted_at = utcnow()


async def restore_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> Person:
    person = await PersonRepository(session).get(person_id, include_deleted=True)
    if person is None:
        raise PersonNotFound(f"person {person_id} not found")
    if person.merged_into_id is not None:
        raise Conflict(
            wording(
                "person %(person)s was merged into %(survivor)s: undo the merge instead",
                person=person_id,
                survivor=person.merged_into_id,
            )
        )
    person.deleted_at = None
    await session.flush()
    return person


async def tracking_ids_of(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> list[str]:
    """The site visitors (t.js tracking ids) tied to the person by a form, an identify call or a chat."""
    identities = await IdentityRepository(session).of_person(person_id)
    return [i.value for i in identities if i.kind == IdentityKind.TRACKING_ID]


# Consents


async def list_consents(
    session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[Consent], str | None]:
    """The person's consent history, newest first."""
    await get_person(session, scope, person_id=person_id)
    consents = ConsentRepository(session)
    return await consents.page(consents.of_person(person_id), cursor=cursor, limit=limit)


async def record_consent(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, data: ConsentCreate) -> Consent:
    """Append a consent row: a withdrawal is a new row, earlier rows are never edited (LGPD evidence)."""
    await get_person(session, scope, person_id=person_id)
    now = utcnow()
    given = data.status is ConsentStatus.GIVEN
    consent = ConsentRepository(session).add(
        Consent(
            person_id=person_id,
            channel=data.channel.value,
            purpose=data.purpose,
            legal_basis=data.legal_basis.value,
            source=data.source,
            text_version=data.text_version,
            status=data.status,
            given_at=now if given else None,
            withdrawn_at=None if given else now,
            recorded_by_id=_acting_user(scope),
        )
    )
    await session.flush()
    return consent


# Duplicates


async def find_duplicates(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> list[DuplicateRead]:
    """Other people sharing a phone (with or without the ninth digit), e-mail, CPF/CNPJ or WhatsApp id, with the
    reasons they matched, strongest first."""
    person = await get_person(session, scope, person_id=person_id)
    identities = IdentityRepository(session)
    keys = MatchKeys().add(await identities.of_person(person.id))
    reasons: dict[uuid.UUID, list[MatchReason]] = defaultdict(list)
    for match in await identities.shared_with_others(person.id, keys):
        reason = MatchReason(kind=REASON_OF[match.kind], value=mask_cpf(match.value) or match.value)
        if reason not in reasons[match.person_id]:
            reasons[match.person_id].append(reason)
    others = await PersonRepository(session).by_ids(list(reasons))
    ranked = [_duplicate(read, reasons[read.id]) for read in await read_people(session, others)]
    ranked.sort(key=lambda d: d.score, reverse=True)  # stable: equal scores stay oldest first
    return ranked[:MAX_DUPLICATES]


def _duplicate(person: PersonRead, reasons: list[MatchReason]) -> DuplicateRead:
    strongest_first = sorted(reasons, key=lambda r: WEIGHT[r.kind], reverse=True)
    score = sum(WEIGHT[kind] for kind in {r.kind for r in reasons})
    return DuplicateRead(person=person, reasons=strongest_first, score=score)


# Merges


async def get_merge(session: AsyncSession, scope: Scope, *, merge_id: uuid.UUID) -> PersonMerge:
    return await MergeRepository(session).get_or_raise(merge_id, error=MergeNotFound)


async def undoable_merges(
    session: AsyncSession, scope: Scope, *, person_id: uuid.UUID
) -> list[tuple[PersonMerge, Person]]:
    """Who was merged into this person and can still be taken apart again (see :func:`undo_merge`)."""
    return await MergeRepository(session).undoable_into(person_id)


def merged_into(error: PersonNotFound) -> uuid.UUID | None:
    """The survivor a missing person was merged into, when that is why they are missing."""
    survivor = error.extra.get("merged_into_id")
    return uuid.UUID(survivor) if survivor else None


async def merge_people(
    session: AsyncSession, scope: Scope, *, survivor_id: uuid.UUID, other_id: uuid.UUID
) -> PersonMerge:
    """Merge ``other_id`` into ``survivor_id``: move their leads, interactions, tasks, attachments, consents and
    identities (exact duplicates stay behind), fill the survivor's empty fields, soft-delete the other person and
    keep a record from which :func:`undo_merge` puts everything back."""
    if survivor_id == other_id:
        message = "a person cannot be merged into themselves"
        raise ValidationFailed(message, errors=[{"field": "other_id", "message": message}])
    survivor = await get_person(session, scope, person_id=survivor_id)
    other = await get_person(session, scope, person_id=other_id)
    moved = await _move_linked_rows(session, source_id=other.id, target_id=survivor.id)
    moved.update(await _move_identities(session, source_id=other.id, target_id=survivor.id))
    filled = _fill_empty_fields(survivor, other)
    other.merged_into_id = survivor.id
    other.deleted_at = utcnow()
    merge = MergeRepository(session).add(
        PersonMerge(
            survivor_id=survivor.id,
            merged_id=other.id,
            moved=moved,
            survivor_before=filled,
            merged_by_id=_acting_user(scope),
        )
    )
    await session.flush()
    return merge


async def _move_linked_rows(
    session: AsyncSession, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> dict[str, list[str]]:
    links = LinkedRowRepository(session)
    moved: dict[str, list[str]] = {}
    for kind in LINKED_ROWS:
        rows = await links.of_person(kind, source_id)
        for row in rows:
            row.person_id = target_id
        moved[kind] = [str(row.id) for row in rows]
    return moved


async def _move_identities(
    session: AsyncSession, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> dict[str, list[str]]:
    found = await IdentityRepository(session).of_people([source_id, target_id])
    held = found.get(target_id, [])
    primary_kinds = {i.kind for i in held if i.is_primary}
    moving = [i for i in found.get(source_id, []) if not any((h.kind, h.value) == (i.kind, i.value) for h in held)]
    demoted = [i for i in moving if i.is_primary and i.kind in primary_kinds]
    for identity in moving:
        identity.person_id = target_id
    for identity in demoted:
        identity.is_primary = False  # the survivor keeps their own primary e-mail, phone, …
    return {"identities": [str(i.id) for i in moving], DEMOTED: [str(i.id) for i in demoted]}


def _fill_empty_fields(survivor: Person, other: Person) -> dict[str, Any]:
    """Fill what the survivor lacks from the other person; returns the survivor's values before (for undo)."""
    before: dict[str, Any] = {}
    for name in FILLABLE:
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
            before[name] = getattr(survivor, name)
            setattr(survivor, name, getattr(other, name))
    new_tags = [tag for tag in other.tags if tag not in survivor.tags]
    if new_tags:
        before["tags"] = list(survivor.tags)
        survivor.tags = [*survivor.tags, *new_tags]
    new_fields = {key: value for key, value in other.custom_fields.items() if key not in survivor.custom_fields}
    if new_fields:
        before["custom_fields"] = dict(survivor.custom_fields)
        survivor.custom_fields = {**survivor.custom_fields, **new_fields}
    return before


async def undo_merge(session: AsyncSession, scope: Scope, *, merge_id: uuid.UUID) -> PersonMerge:
    """Move back what the merge moved (rows moved elsewhere since stay there), restore the merged person and
    revert the survivor's filled fields unless they were edited since. Undoing twice is a 409."""
    merge = await get_merge(session, scope, merge_id=merge_id)
    if merge.undone_at is not None:
        raise MergeAlreadyUndone(
            wording("merge %(merge)s was undone at %(when)s", merge=merge_id, when=merge.undone_at.isoformat())
        )
    people = PersonRepository(session)
    survivor = await people.get_or_raise(merge.survivor_id, include_deleted=True)
    merged = await people.get_or_raise(merge.merged_id, include_deleted=True)
    if survivor.merged_into_id is not None:
        raise Conflict(
            wording(
                "person %(person)s was since merged into %(survivor)s: undo that merge first",
                person=survivor.id,
                survivor=survivor.merged_into_id,
            )
        )
    await _move_back(session, merge, survivor_id=survivor.id, merged_id=merged.id)
    _revert_filled_fields(survivor, merged, merge.survivor_before)
    merged.deleted_at = None
    merged.merged_into_id = None
    merge.undone_at = utcnow()
    await session.flush()
    return merge


async def _move_back(
    session: AsyncSession, merge: PersonMerge, *, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> None:
    def ids(kind: str) -> list[uuid.UUID]:
        return [uuid.UUID(i) for i in merge.moved.get(kind, [])]

    links = LinkedRowRepository(session)
    for kind in LINKED_ROWS:
        for row in await links.by_ids_of_person(kind, ids(kind), survivor_id):
            row.person_id = merged_id
    identities = IdentityRepository(session)
    for identity in await identities.by_ids_of_person(ids("identities"), survivor_id):
        identity.person_id = merged_id
        if str(identity.id) in merge.moved.get(DEMOTED, []):
            identity.is_primary = True


def _revert_filled_fields(survivor: Person, merged: Person, before: dict[str, Any]) -> None:
    # A field edited after the merge keeps its edit: only values still equal to what the merge put are reverted.
    for name in FILLABLE:
        if name in before and getattr(survivor, name) == getattr(merged, name):
            setattr(survivor, name, before[name])
    if "tags" in before:
        survivor.tags = [tag for tag in survivor.tags if tag in before["tags"] or tag not in merged.tags]
    if "custom_fields" in before:
        survivor.custom_fields = {
            key: value
            for key, value in survivor.custom_fields.items()
            if key in before["custom_fields"] or merged.custom_fields.get(key) != value
        }
