"""Per-subject data keys for crypto-shredding (ARCHITECTURE §6): a value sealed under a person's or a visitor's
key can be read while the key lives; anonymisation destroys the key, and every copy of the value, however
immutable the row that holds it, becomes unreadable.

The event log uses it through :class:`SealingKeys` (docs/trust/lgpd.md, "Sealing"): the capture writer loads the
keys of every subject of a group of events at once (``SealingKeys.for_writing``, one query, one insert for new
subjects) and seals each event's personal part with ``seal_envelope``; every reader of a payload opens it with
``open_envelope`` through ``leadflow.capture.sealing.open_events`` — a destroyed key gives ``None``, never an
error.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing, SealBroken, new_data_key, open_with, seal_with
from leadflow.kit.time import utcnow
from leadflow.models import DataKey
from leadflow.privacy import keys
from leadflow.privacy.repository import DataKeyRepository

log = structlog.get_logger("leadflow.privacy")

PERSON = "person"
VISITOR = "visitor"  # a browser or app: the tracking (anonymous) id
USER = "user"  # a site's own user id, by its HMAC (the id may be an e-mail)
EVENT = "event"  # one event with no visitor: a form without tracking id, a vendor's delivery
REJECTED = "rejected"  # refused input nobody can be named in: one key per tenant and day
CONTACT = "contact"  # an e-mail or phone an event names, by its HMAC: destroyed with whichever person owns it
ENVELOPE_VERSION = 1

Subject = tuple[str, str]


def _key_context(scope: Scope, subject_kind: str, subject_ref: str) -> bytes:
    return f"{scope.tenant_id}|{subject_kind}|{subject_ref}".encode()


async def data_key(
    session: AsyncSession, scope: Scope, *, subject_kind: str, subject_ref: str, person_id: uuid.UUID | None = None
) -> bytes | None:
    """The subject's data key, created on first use; None once it was destroyed (the subject was anonymised)."""
    repo = DataKeyRepository(session)
    row = await repo.for_subject(subject_kind, subject_ref)
    if row is None:
        row = await _create(session, scope, subject_kind, subject_ref, person_id)
    if row.wrapped is None:
        return None
    return keys.key_ring().unwrap(row.wrapped, context=_key_context(scope, subject_kind, subject_ref))


async def _create(
    session: AsyncSession, scope: Scope, subject_kind: str, subject_ref: str, person_id: uuid.UUID | None
) -> DataKey:
    wrapped = keys.key_ring().wrap(new_data_key(), context=_key_context(scope, subject_kind, subject_ref))
    row = DataKey(subject_kind=subject_kind, subject_ref=subject_ref, person_id=person_id, wrapped=wrapped)
    try:
        async with session.begin_nested():  # a concurrent writer may create the same subject's key first
            session.add(row)
    except IntegrityError:
        found = await DataKeyRepository(session).for_subject(subject_kind, subject_ref)
        assert found is not None
        return found
    return row


async def seal_for(
    session: AsyncSession, scope: Scope, *, subject_kind: str, subject_ref: str, value: Any, context: bytes = b""
) -> dict[str, Any]:
    """``value`` (JSON) sealed under the subject's key, as a JSON envelope; ``context`` binds it to its row."""
    key = await data_key(session, scope, subject_kind=subject_kind, subject_ref=subject_ref)
    if key is None:
        raise SealBroken(f"the {subject_kind}'s data key was destroyed: nothing new is sealed for them")
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    sealed = seal_with(key, plaintext, context=context)
    return {"v": ENVELOPE_VERSION, "subject": [subject_kind, subject_ref], "sealed": base64.b64encode(sealed).decode()}


async def open_sealed(session: AsyncSession, scope: Scope, *, envelope: dict[str, Any], context: bytes = b"") -> Any:
    """The sealed value, or None when its subject's key no longer exists in this tenant (anonymised, or another
    tenant's envelope). A tampered envelope raises ``SealBroken``."""
    subject_kind, subject_ref = envelope["subject"]
    row = await DataKeyRepository(session).for_subject(subject_kind, subject_ref)
    if row is None or row.wrapped is None:
        return None
    key = keys.key_ring().unwrap(row.wrapped, context=_key_context(scope, subject_kind, subject_ref))
    return json.loads(open_with(key, base64.b64decode(envelope["sealed"]), context=context))


class SealingKeys:
    """The live data keys of a batch of subjects, loaded in one query (no per-event round trip)."""

    def __init__(self, scope: Scope, keys: dict[Subject, bytes]) -> None:
        self.scope = scope
        self._keys = keys

    def get(self, subject: Subject) -> bytes | None:
        return self._keys.get(subject)

    @classmethod
    async def for_reading(cls, session: AsyncSession, scope: Scope, subjects: Iterable[Subject]) -> SealingKeys:
        """The keys that still exist; a destroyed (or another tenant's) subject is simply absent."""
        wanted = sorted(set(subjects))
        if not wanted:
            return cls(scope, {})
        rows = await DataKeyRepository(session).for_subjects(wanted)
        return cls(scope, {(r.subject_kind, r.subject_ref): _unwrap(scope, r) for r in rows if r.wrapped is not None})

    @classmethod
    async def for_writing(cls, session: AsyncSession, scope: Scope, subjects: Iterable[Subject]) -> SealingKeys:
        """Every subject's key, created when missing. A destroyed key (the visitor's person was anonymised and the
        same browser came back) is replaced by a new one: what the old key sealed stays unreadable, what comes now
        is sealed afresh and belongs to whoever is identified next."""
        wanted = sorted(set(subjects))
        if not wanted:
            return cls(scope, {})
        repo = DataKeyRepository(session)
        rows = {(r.subject_kind, r.subject_ref): r for r in await repo.for_subjects(wanted)}
        missing = [subject for subject in wanted if subject not in rows]
        if missing:
            await repo.insert_missing([_new_key_row(scope, kind, ref) for kind, ref in missing])
            rows.update({(r.subject_kind, r.subject_ref): r for r in await repo.for_subjects(missing)})
        for row in rows.values():
            if row.wrapped is None:
                _renew(scope, row)
        return cls(scope, {subject: _unwrap(scope, row) for subject, row in rows.items()})


def seal_envelope(
    keys: SealingKeys, subject: Subject, value: Any, *, context: bytes, also: Sequence[Subject] = ()
) -> dict[str, Any]:
    """``value`` (JSON) sealed under the subject's key (loaded by ``SealingKeys.for_writing``) and, inside that,
    under the key of each subject in ``also``: it opens only while every one of those keys lives, so destroying any
    of them (the visitor's person, or whoever owns an e-mail the event names, is anonymised) shreds it."""
    sealed = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    for inner in (*also, subject):
        key = keys.get(inner)
        if key is None:
            raise SealBroken(f"no live key for the {inner[0]}")
        sealed = seal_with(key, sealed, context=context)
    envelope: dict[str, Any] = {"v": ENVELOPE_VERSION, "subject": list(subject)}
    if also:
        envelope["also"] = [list(inner) for inner in also]
    envelope["sealed"] = base64.b64encode(sealed).decode()
    return envelope


def envelope_subject(envelope: object) -> Subject | None:
    """The subject an envelope was sealed for, or None when the value is not an envelope."""
    if not isinstance(envelope, dict):
        return None
    return _subject(envelope.get("subject"))


def envelope_subjects(envelope: object) -> list[Subject]:
    """Every subject whose key an envelope needs: its own, then the inner ones (``also``), outermost first."""
    subject = envelope_subject(envelope)
    if subject is None:
        return []
    assert isinstance(envelope, dict)
    inner = envelope.get("also")
    also = [s for item in inner if (s := _subject(item)) is not None] if isinstance(inner, list) else []
    return [subject, *reversed(also)]


def _subject(value: object) -> Subject | None:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(part, str) for part in value):
        return value[0], value[1]
    return None


def open_envelope(keys: SealingKeys, envelope: dict[str, Any], *, context: bytes) -> Any:
    """The sealed value, or None when one of its keys is gone (anonymised) or the envelope does not open here: a
    reader shows a placeholder instead, never an error."""
    subjects = envelope_subjects(envelope)
    found = [keys.get(subject) for subject in subjects]
    if not subjects or any(key is None for key in found):
        return None
    try:
        sealed = base64.b64decode(envelope["sealed"])
        for key in found:
            assert key is not None
            sealed = open_with(key, sealed, context=context)
        return json.loads(sealed)
    except (SealBroken, ValueError, KeyError, TypeError):
        # A key renewed after anonymisation, or a tampered row: unreadable, and said so in the log (no value).
        log.warning("privacy.sealed_value_unreadable", subject_kind=subjects[0][0])
        return None


def _new_key_row(scope: Scope, kind: str, ref: str) -> dict[str, Any]:
    now = utcnow()
    wrapped = keys.key_ring().wrap(new_data_key(), context=_key_context(scope, kind, ref))
    return {
        "id": new_id(),
        "tenant_id": scope.tenant_id,  # a core insert: the tenant comes from the scope
        "created_at": now,
        "updated_at": now,
        "subject_kind": kind,
        "subject_ref": ref,
        "person_id": None,
        "wrapped": wrapped,
        "destroyed_at": None,
    }


def _renew(scope: Scope, row: DataKey) -> None:
    row.wrapped = keys.key_ring().wrap(new_data_key(), context=_key_context(scope, row.subject_kind, row.subject_ref))
    row.destroyed_at, row.person_id = None, None


def _unwrap(scope: Scope, row: DataKey) -> bytes:
    assert row.wrapped is not None
    return _unwrapped(keys.key_ring(), row.wrapped, _key_context(scope, row.subject_kind, row.subject_ref))


@lru_cache(maxsize=16384)
def _unwrapped(ring: KeyRing, wrapped: bytes, context: bytes) -> bytes:
    """Unwrapping is a pure function of the stored bytes: cached per process, it costs one dict lookup per subject
    and batch. The database stays the authority: a destroyed key is no longer read, so it is never unwrapped."""
    return ring.unwrap(wrapped, context=context)


async def link_to_person(session: AsyncSession, scope: Scope, *, subject: Subject, person_id: uuid.UUID) -> None:
    """Tie a key that sealed one person's data (a vendor delivery, a form without visitor id) to that person, so
    anonymising them destroys it. A key already tied to someone keeps its first person (see lgpd.md)."""
    row = await DataKeyRepository(session).for_subject(*subject)
    if row is not None and row.person_id is None and row.wrapped is not None:
        row.person_id = person_id
