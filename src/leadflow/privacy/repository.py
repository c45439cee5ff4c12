"""Every query of the LGPD features. Tenancy comes from the session scope, never from a hand-written filter."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, and_, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from leadflow.kit.repository import Repository
from leadflow.models import (
    Anonymisation,
    Attachment,
    ChannelContact,
    Consent,
    DataKey,
    Event,
    ExternalRef,
    IdentityKind,
    Interaction,
    Lead,
    LeadConversion,
    LeadStageHistory,
    Person,
    PersonIdentity,
    PersonMerge,
    PrivacyRequest,
    ProcessingPurpose,
    RequestStatus,
    Suppression,
    Task,
    Visit,
    WebhookDelivery,
    WebhookEndpoint,
)


class PurposeRepository(Repository[ProcessingPurpose]):
    model = ProcessingPurpose

    async def by_key(self, key: str) -> ProcessingPurpose | None:
        return (await self.session.execute(self.select().where(ProcessingPurpose.key == key))).scalar_one_or_none()

    async def stored(self) -> list[ProcessingPurpose]:
        return list(await self.all(self.select().order_by(ProcessingPurpose.key)))


class ConsentLogRepository(Repository[Consent]):
    model = Consent

    async def of_person(self, person_id: uuid.UUID) -> list[Consent]:
        """Oldest first: the log as it was written (the id is a UUIDv7, so it orders rows of the same instant)."""
        stmt = self.select().where(Consent.person_id == person_id).order_by(Consent.created_at, Consent.id)
        return list(await self.all(stmt))


class RequestRepository(Repository[PrivacyRequest]):
    model = PrivacyRequest

    def filtered(self, *, status: RequestStatus | None, person_id: uuid.UUID | None) -> Select[Any]:
        stmt = self.select()
        if status is not None:
            stmt = stmt.where(PrivacyRequest.status == status)
        if person_id is not None:
            stmt = stmt.where(PrivacyRequest.person_id == person_id)
        return stmt

    async def of_person(self, person_id: uuid.UUID) -> list[PrivacyRequest]:
        return list(await self.all(self.select().where(PrivacyRequest.person_id == person_id)))


class SuppressionRepository(Repository[Suppression]):
    model = Suppression

    async def existing(self, kind: str, digests: Sequence[str]) -> list[Suppression]:
        stmt = self.select().where(Suppression.kind == kind, Suppression.digest.in_(list(digests)))
        return list(await self.all(stmt))


class DataKeyRepository(Repository[DataKey]):
    model = DataKey

    async def of_person(self, person_id: uuid.UUID, tracking_ids: Sequence[str]) -> list[DataKey]:
        """The person's own key and the keys of the visitors (tracking ids) tied to them."""
        conditions = [
            DataKey.person_id == person_id,
            (DataKey.subject_kind == "person") & (DataKey.subject_ref == str(person_id)),
        ]
        if tracking_ids:
            conditions.append((DataKey.subject_kind == "visitor") & DataKey.subject_ref.in_(list(tracking_ids)))
        return list(await self.all(self.select().where(or_(*conditions))))

    async def for_subject(self, subject_kind: str, subject_ref: str) -> DataKey | None:
        stmt = self.select().where(DataKey.subject_kind == subject_kind, DataKey.subject_ref == subject_ref)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_subjects(self, subjects: Sequence[tuple[str, str]]) -> list[DataKey]:
        """The keys of many subjects in one query per chunk (a group of events, a page of the log)."""
        found: list[DataKey] = []
        for start in range(0, len(subjects), SUBJECT_CHUNK):
            chunk = list(subjects[start : start + SUBJECT_CHUNK])
            stmt = self.select().where(tuple_(DataKey.subject_kind, DataKey.subject_ref).in_(chunk))
            found.extend(await self.all(stmt))
        return found

    async def insert_missing(self, rows: list[dict[str, Any]]) -> None:
        """Insert key rows (each with its tenant_id); a subject's key created meanwhile by a concurrent writer wins
        and this one is dropped, so every writer then reads the same key."""
        connection = await self.session.connection()
        for start in range(0, len(rows), SUBJECT_CHUNK):
            await connection.execute(_insert_keys(connection.dialect.name), rows[start : start + SUBJECT_CHUNK])

    async def by_refs(self, subject_kind: str, refs: Sequence[str]) -> list[DataKey]:
        if not refs:
            return []
        stmt = self.select().where(DataKey.subject_kind == subject_kind, DataKey.subject_ref.in_(list(refs)))
        return list(await self.all(stmt))


class AnonymisationRepository(Repository[Anonymisation]):
    model = Anonymisation

    async def of_person(self, person_id: uuid.UUID) -> Anonymisation | None:
        stmt = self.select().where(Anonymisation.person_id == person_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class SubjectDataRepository:
    """Every row that holds or points at one person: what a subject export shows and anonymisation rewrites.

    Deleted rows are included (``include_deleted``): the subject has a right to them too, and they must not
    keep personal data after anonymisation. Lead visibility is not applied (``skip_visibility``): a manager who
    may export or anonymise the person acts on all of the person's leads, not only their teams' — otherwise a
    lead routed to another team would keep the person's data (the tenant wall still holds).
    """

    def __init__(self, session: Any) -> None:
        self.session = session

    async def _rows(self, stmt: Select[Any]) -> list[Any]:
        result = await self.session.execute(stmt.execution_options(include_deleted=True, skip_visibility=True))
        return list(result.scalars().all())

    async def person(self, person_id: uuid.UUID) -> Person | None:
        rows = await self._rows(select(Person).where(Person.id == person_id))
        return rows[0] if rows else None

    async def identities(self, person_id: uuid.UUID) -> list[PersonIdentity]:
        stmt = select(PersonIdentity).where(PersonIdentity.person_id == person_id).order_by(PersonIdentity.created_at)
        return await self._rows(stmt)

    async def channel_contacts(self, person_id: uuid.UUID) -> list[ChannelContact]:
        return await self._rows(select(ChannelContact).where(ChannelContact.person_id == person_id))

    async def leads(self, person_id: uuid.UUID) -> list[Lead]:
        return await self._rows(select(Lead).where(Lead.person_id == person_id).order_by(Lead.created_at))

    async def stage_history(self, lead_ids: Sequence[uuid.UUID]) -> list[LeadStageHistory]:
        stmt = select(LeadStageHistory).where(LeadStageHistory.lead_id.in_(list(lead_ids)))
        return await self._rows(stmt.order_by(LeadStageHistory.moved_at))

    async def conversions(self, lead_ids: Sequence[uuid.UUID]) -> list[LeadConversion]:
        stmt = select(LeadConversion).where(LeadConversion.lead_id.in_(list(lead_ids)))
        return await self._rows(stmt.order_by(LeadConversion.occurred_at))

    async def interactions(self, person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]) -> list[Interaction]:
        stmt = select(Interaction).where(_of(Interaction, person_id, lead_ids)).order_by(Interaction.occurred_at)
        return await self._rows(stmt)

    async def tasks(self, person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]) -> list[Task]:
        return await self._rows(select(Task).where(_of(Task, person_id, lead_ids)).order_by(Task.created_at))

    async def visits(self, lead_ids: Sequence[uuid.UUID]) -> list[Visit]:
        return await self._rows(select(Visit).where(Visit.lead_id.in_(list(lead_ids))).order_by(Visit.created_at))

    async def attachments(self, person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]) -> list[Attachment]:
        stmt = select(Attachment).where(_of(Attachment, person_id, lead_ids)).order_by(Attachment.created_at)
        return await self._rows(stmt)

    async def merges(self, person_id: uuid.UUID) -> list[PersonMerge]:
        stmt = select(PersonMerge).where(or_(PersonMerge.survivor_id == person_id, PersonMerge.merged_id == person_id))
        return await self._rows(stmt)

    async def events(self, tracking_ids: Sequence[str], event_ids: Sequence[uuid.UUID]) -> list[Event]:
        """Raw events of the person: those of their visitor ids and those that converted one of their leads."""
        conditions = []
        if tracking_ids:
            conditions.append(Event.tracking_id.in_(list(tracking_ids)))
        if event_ids:
            conditions.append(Event.id.in_(list(event_ids)))
        if not conditions:
            return []
        return await self._rows(select(Event).where(or_(*conditions)).order_by(Event.received_at, Event.id))

    async def external_refs(self, person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]) -> list[ExternalRef]:
        """The person and their leads as records of a CRM or of Chatwoot."""
        stmt = select(ExternalRef).where(
            or_(
                and_(ExternalRef.entity_type == "person", ExternalRef.entity_id == person_id),
                and_(ExternalRef.entity_type == "lead", ExternalRef.entity_id.in_(list(lead_ids))),
            )
        )
        return await self._rows(stmt.order_by(ExternalRef.provider, ExternalRef.created_at))

    async def partner_deliveries(
        self, person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]
    ) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
        """Partner webhook deliveries that named the person or one of their leads and were sent at least once.

        A delivery's body is the exact JSON sent (compact, ``"key":"value"``), so the ids are matched as they went
        out; this reads the tenant's deliveries, acceptable for a request a person makes a few times at most.
        """
        named = [f'"person_id":"{person_id}"', *(f'"lead_id":"{lead_id}"' for lead_id in lead_ids)]
        stmt = (
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.attempts > 0, or_(*(WebhookDelivery.body.contains(text) for text in named)))
            .order_by(WebhookDelivery.created_at)
            .execution_options(include_deleted=True, skip_visibility=True)
        )
        return [(delivery, endpoint) for delivery, endpoint in (await self.session.execute(stmt)).all()]


SUBJECT_CHUNK = 500  # (kind, ref) pairs per query: two bound parameters each


@functools.cache
def _insert_keys(dialect: str) -> Insert:
    table = cast(Table, DataKey.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "subject_kind", "subject_ref"])


def tracking_ids_of(identities: Sequence[PersonIdentity]) -> list[str]:
    return [i.value for i in identities if i.kind == IdentityKind.TRACKING_ID]


def _of(model: type[Interaction | Task | Attachment], person_id: uuid.UUID, lead_ids: Sequence[uuid.UUID]) -> Any:
    if not lead_ids:
        return model.person_id == person_id
    return or_(model.person_id == person_id, model.lead_id.in_(list(lead_ids)))
