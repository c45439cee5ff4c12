"""Files attached to an interaction, a lead, a person or a property, kept behind :mod:`leadflow.kit.storage`.

An upload is read twice from the request's spooled temporary file: once to measure, hash and sniff it (refusing
it at the first byte over the limit), once to stream it into storage under ``<tenant id>/attachments/<id>``.
The client's file name is only ever metadata: it never reaches a storage key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import BinaryIO, Protocol
from urllib.parse import quote

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity import sniffing
from leadflow.activity.repository import AttachmentRepository, ReferenceRepository
from leadflow.activity.schemas import AttachmentFilters
from leadflow.activity.service import (
    InteractionNotFound,
    ReferencedRowNotFound,
    acting_user_id,
    check_may_delete,
    get_interaction,
    invalid,
    lead_named_in_body,
)
from leadflow.kit.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, wording
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.storage import CHUNK_BYTES, Storage, tenant_key
from leadflow.kit.time import utcnow
from leadflow.models import Attachment

FALLBACK_NAME = "arquivo"
MAX_NAME = 255
_UNSAFE_IN_NAME = re.compile(r'[<>:"|?*]')
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9 ._()\-]")


class AttachmentNotFound(NotFound):
    code = "attachment-not-found"
    title = "Attachment not found"


class UploadedFile(Protocol):
    """The part of an uploaded file the service reads (Starlette's ``UploadFile`` has it)."""

    filename: str | None
    content_type: str | None
    file: BinaryIO

    async def read(self, size: int = -1) -> bytes: ...

    async def seek(self, offset: int) -> None: ...


@dataclass(frozen=True, slots=True)
class AttachmentTarget:
    """What the file is attached to: exactly one of these is set."""

    interaction_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Measured:
    size: int
    sha256: str
    head: bytes


# Upload


async def upload_attachment(
    session: AsyncSession,
    scope: Scope,
    *,
    upload: UploadedFile,
    target: AttachmentTarget,
    storage: Storage,
    max_bytes: int,
) -> Attachment:
    """Check, store and record an uploaded file.

    Raises ValidationFailed (422) unless exactly one target is named or when the file is empty,
    ReferencedRowNotFound (404) for a target the actor cannot see, PayloadTooLarge (413) past ``max_bytes``,
    UnsupportedMediaType (415) for a format not accepted or a declared type the bytes contradict.
    An attachment of an interaction also records the interaction's lead and person; one of a lead, its person.
    """
    parents = await _parents(session, scope, target)
    filename = sanitize_filename(upload.filename)
    measured = await _measure(upload, max_bytes=max_bytes)
    content_type = await _content_type(upload, measured.head, filename)
    attachment_id = new_id()
    storage_key = tenant_key(_tenant_of(scope), "attachments", str(attachment_id))
    await upload.seek(0)
    await storage.put(storage_key, _chunks(upload))
    attachment = Attachment(
        id=attachment_id,
        filename=filename,
        content_type=content_type,
        size_bytes=measured.size,
        sha256=measured.sha256,
        storage_key=storage_key,
        uploaded_by_id=acting_user_id(scope),
        **parents,
    )
    AttachmentRepository(session).add(attachment)
    await session.flush()
    return attachment


def _tenant_of(scope: Scope) -> uuid.UUID:
    if scope.tenant_id is None:
        raise RuntimeError("an attachment belongs to a tenant")
    return scope.tenant_id


async def _parents(session: AsyncSession, scope: Scope, target: AttachmentTarget) -> dict[str, uuid.UUID | None]:
    named = [name for name, value in asdict(target).items() if value is not None]
    if len(named) != 1:
        raise invalid("interaction_id", "send exactly one of interaction_id, lead_id, person_id, property_id")
    if target.interaction_id is not None:
        return await _interaction_parents(session, scope, target.interaction_id)
    if target.lead_id is not None:
        lead = await lead_named_in_body(session, scope, target.lead_id)
        return {"lead_id": lead.id, "person_id": lead.person_id}
    refs = ReferenceRepository(session)
    if target.person_id is not None and not await refs.person_exists(target.person_id):
        raise ReferencedRowNotFound("person_id", "no such person")
    if target.property_id is not None and not await refs.property_exists(target.property_id):
        raise ReferencedRowNotFound("property_id", "no such property")
    return {"person_id": target.person_id, "property_id": target.property_id}


async def _interaction_parents(
    session: AsyncSession, scope: Scope, interaction_id: uuid.UUID
) -> dict[str, uuid.UUID | None]:
    try:
        interaction = await get_interaction(session, scope, interaction_id=interaction_id)
    except InteractionNotFound as exc:
        raise ReferencedRowNotFound("interaction_id", "no such interaction") from exc
    return {"interaction_id": interaction.id, "lead_id": interaction.lead_id, "person_id": interaction.person_id}


async def _measure(upload: UploadedFile, *, max_bytes: int) -> Measured:
    """Size and SHA-256 of the upload, refused at the first chunk past the limit."""
    digest, size, head = hashlib.sha256(), 0, b""
    await upload.seek(0)
    while chunk := await upload.read(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(wording("the file exceeds %(size)s bytes", size=max_bytes))
        digest.update(chunk)
        if len(head) < sniffing.HEAD_BYTES:
            head += chunk[: sniffing.HEAD_BYTES - len(head)]
    if size == 0:
        raise invalid("file", "is empty")
    return Measured(size=size, sha256=digest.hexdigest(), head=head)


async def _content_type(upload: UploadedFile, head: bytes, filename: str) -> str:
    # Telling DOCX from XLSX reads the zip directory at the end of the file: a blocking read, off the loop.
    sniffed = await anyio.to_thread.run_sync(sniffing.sniff, head, upload.file)
    if sniffed is None:
        raise UnsupportedMediaType("this kind of file is not accepted (documents, photos, audio and video are)")
    if not sniffing.agrees(upload.content_type, sniffed):
        declared = sniffing.media_type_of(upload.content_type)
        raise UnsupportedMediaType(
            wording(
                "the file was declared %(declared)s but its content is %(sniffed)s", declared=declared, sniffed=sniffed
            )
        )
    return sniffing.refine_text(sniffed, declared=upload.content_type, filename=filename)


async def _chunks(upload: UploadedFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


def sanitize_filename(raw: str | None) -> str:
    """A file name safe to show and to send back: the last path segment, no control or format characters,
    none of ``<>:"|?*``, at most 255 characters (keeping a short extension), never empty or hidden."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(_UNSAFE_IN_NAME.sub("_", name).split()).strip(" .")
    if not name:
        return FALLBACK_NAME
    if len(name) <= MAX_NAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and 0 < len(extension) <= 16:
        return stem[: MAX_NAME - len(extension) - 1].rstrip(" .") + "." + extension
    return name[:MAX_NAME]


def content_disposition(filename: str) -> str:
    """An ``attachment`` disposition per RFC 6266: an ASCII ``filename`` fallback and the exact ``filename*``."""
    unaccented = "".join(ch for ch in unicodedata.normalize("NFKD", filename) if not unicodedata.combining(ch))
    fallback = _NOT_ASCII_SAFE.sub("_", unaccented).strip() or FALLBACK_NAME
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# Reading and deleting


async def get_attachment(session: AsyncSession, scope: Scope, *, attachment_id: uuid.UUID) -> Attachment:
    return await AttachmentRepository(session).get_or_raise(attachment_id, error=AttachmentNotFound)


async def list_attachments(
    session: AsyncSession, scope: Scope, *, filters: AttachmentFilters, cursor: str | None, limit: int
) -> tuple[list[Attachment], str | None]:
    repo = AttachmentRepository(session)
    return await repo.page(repo.filtered(filters), cursor=cursor, limit=limit)


async def open_attachment(
    session: AsyncSession, scope: Scope, *, attachment_id: uuid.UUID, storage: Storage
) -> tuple[Attachment, AsyncIterator[bytes]]:
    """The attachment and its bytes as a stream; AttachmentNotFound (404) when the row or its file is missing."""
    attachment = await get_attachment(session, scope, attachment_id=attachment_id)
    if not await storage.exists(attachment.storage_key):
        raise AttachmentNotFound(f"the file of attachment {attachment_id} is missing from storage")
    return attachment, storage.open(attachment.storage_key)


async def delete_attachment(session: AsyncSession, scope: Scope, *, attachment_id: uuid.UUID) -> None:
    """Soft delete: the row is hidden at once; the stored file stays until retention removes it."""
    attachment = await get_attachment(session, scope, attachment_id=attachment_id)
    check_may_delete(scope, attachment.uploaded_by_id)
    attachment.deleted_at = utcnow()
