"""Per-subject data keys for crypto-shredding (ARCHITECTURE §6): a value sealed under a person's or a visitor's
key can be read while the key lives; anonymisation destroys the key, and every copy of the value, however
immutable the row that holds it, becomes unreadable.

The event log is not wired to this yet (docs/trust/lgpd.md, "Sealing"): ``seal_for`` is what the capture writer
will call per event and ``open_sealed`` what every reader of a payload will call.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.scope import Scope
from leadflow.kit.sealing import SealBroken, new_data_key, open_with, seal_with
from leadflow.models import DataKey
from leadflow.privacy import keys
from leadflow.privacy.repository import DataKeyRepository

PERSON = "person"
VISITOR = "visitor"
ENVELOPE_VERSION = 1


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
