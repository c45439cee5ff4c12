"""LGPD use cases: purposes and legal bases, the consent log, opt-outs, data-subject requests, the subject export
and anonymisation with a suppression list.

Signatures other features rely on (keep them stable):

- ``anonymise_person(session, scope, *, person_id, reason) -> Anonymisation`` (retention, the API);
- ``record_opt_out_from_message(session, scope, *, channel, sender, text, source=None) -> OptOut`` (WhatsApp and
  other inbound messages: "SAIR", "PARAR", "STOP", …);
- ``marketing_permission(session, scope, *, person_id, channel) -> MarketingPermission`` (pipeline rules);
- ``is_suppressed(session, scope, *, emails=(), phones=()) -> bool`` and ``any_suppressed(..., identities=...)``
  (imports and other entry points); ``flag_if_suppressed`` (the pipeline's identify step).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.capture.sealing import subjects_of_events
from leadflow.kit import audit
from leadflow.kit.br import InvalidValue
from leadflow.kit.errors import Conflict, NotFound
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import (
    Anonymisation,
    Consent,
    ConsentStatus,
    IdentityKind,
    LegalBasis,
    Person,
    PersonIdentity,
    PrivacyRequest,
    ProcessingPurpose,
    RequestStatus,
    Suppression,
)
from leadflow.person.identities import IdentityValue, email_identity, phone_identity, whatsapp_identity
from leadflow.person.service import PersonNotFound, find_people_by_identity, get_person
from leadflow.privacy import keys, sealing
from leadflow.privacy.events import ConsentWithdrawn, PersonAnonymised
from leadflow.privacy.repository import (
    AnonymisationRepository,
    ConsentLogRepository,
    DataKeyRepository,
    PurposeRepository,
    RequestRepository,
    SubjectDataRepository,
    SuppressionRepository,
    tracking_ids_of,
)
from leadflow.privacy.schemas import ConsentEntryCreate, PurposeCreate, PurposeRead, RequestClose, RequestCreate

REQUEST_DEADLINE = timedelta(days=15)  # LGPD art. 19 II: the full statement within 15 days
ANY_CHANNEL = "any"
ANONYMISED_NAME = "Titular anonimizado"
ANONYMISED_TEXT = "[anonimizado]"
# A whole message that is one of these words withdraws marketing consent on the channel it came from.
OPT_OUT_WORDS = frozenset({"sair", "parar", "pare", "stop", "cancelar", "descadastrar", "remover", "unsubscribe"})
CONTACT_KINDS: dict[IdentityKind, str] = {
    IdentityKind.EMAIL: "email",
    IdentityKind.PHONE: "phone",
    IdentityKind.WHATSAPP: "phone",  # a WhatsApp number is a phone: suppressing one suppresses the other
}


class PurposeNotFound(NotFound):
    code = "privacy-purpose-not-found"
    title = "Purpose not found"


class PurposeExists(Conflict):
    code = "privacy-purpose-exists"
    title = "Purpose already defined"


class RequestNotFound(NotFound):
    code = "privacy-request-not-found"
    title = "Data-subject request not found"


class RequestAlreadyClosed(Conflict):
    code = "privacy-request-closed"
    title = "Data-subject request already closed"


def _acting_user(scope: Scope) -> uuid.UUID | None:
    return scope.actor_id if scope.actor_type == "user" else None


# Purposes and legal bases


@dataclass(frozen=True, slots=True)
class _Default:
    key: str
    name: str
    legal_basis: LegalBasis
    is_marketing: bool = False
    description: str | None = None


# What a tenant processes for before it defines its own catalogue (a stored purpose with the same key wins).
DEFAULT_PURPOSES = (
    _Default("atendimento", "Atendimento da solicitação do cliente", LegalBasis.CONTRACT,
             description="Responder ao interesse em um imóvel: etapas preliminares de contrato (art. 7 V)"),
    _Default("marketing", "Comunicações de marketing e lançamentos", LegalBasis.CONSENT, is_marketing=True,
             description="Ofertas e novidades por WhatsApp, e-mail ou SMS, só com consentimento (art. 7 I)"),
    _Default("registros", "Registros fiscais e contratuais", LegalBasis.LEGAL_OBLIGATION,
             description="Guarda de contratos e documentos exigida por lei (art. 7 II)"),
    _Default("defesa", "Exercício regular de direitos", LegalBasis.EXERCISE_OF_RIGHTS,
             description="Defesa em processos judiciais ou administrativos (art. 7 VI)"),
)  # fmt: skip


async def list_purposes(session: AsyncSession, scope: Scope) -> list[PurposeRead]:
    """The tenant's purposes with their legal bases: the built-in ones unless redefined, then the tenant's own."""
    stored = {p.key: p for p in await PurposeRepository(session).stored()}
    defaults = [_default_read(d) for d in DEFAULT_PURPOSES if d.key not in stored]
    return defaults + [_purpose_read(p) for p in stored.values()]


async def define_purpose(session: AsyncSession, scope: Scope, *, data: PurposeCreate) -> PurposeRead:
    """Add a purpose or redefine a built-in one (e.g. marketing under legitimate interest with its assessment)."""
    purposes = PurposeRepository(session)
    if await purposes.by_key(data.key) is not None:
        raise PurposeExists(f"purpose {data.key} is already defined")
    purpose = purposes.add(ProcessingPurpose(**data.model_dump()))
    await session.flush()
    return _purpose_read(purpose)


async def _purpose(session: AsyncSession, scope: Scope, key: str) -> PurposeRead:
    for purpose in await list_purposes(session, scope):
        if purpose.key == key:
            return purpose
    raise PurposeNotFound(f"purpose {key} is not in the tenant's catalogue")


def _purpose_read(purpose: ProcessingPurpose) -> PurposeRead:
    return PurposeRead(
        key=purpose.key,
        name=purpose.name,
        legal_basis=purpose.legal_basis,
        description=purpose.description,
        legitimate_interest_assessment=purpose.legitimate_interest_assessment,
        is_marketing=purpose.is_marketing,
        is_default=False,
    )


def _default_read(default: _Default) -> PurposeRead:
    return PurposeRead(
        key=default.key,
        name=default.name,
        legal_basis=default.legal_basis,
        description=default.description,
        legitimate_interest_assessment=None,
        is_marketing=default.is_marketing,
        is_default=True,
    )


# The consent log


@dataclass(frozen=True, slots=True)
class ConsentState:
    purpose: str
    channel: str
    granted: bool
    since: datetime
    entry_id: uuid.UUID


def current_consents(log: Sequence[Consent]) -> list[ConsentState]:
    """The latest entry per purpose and channel: the log is append-only, so the last word is the state."""
    latest: dict[tuple[str, str], Consent] = {}
    for entry in log:  # oldest first
        latest[(entry.purpose, entry.channel)] = entry
    return [
        ConsentState(
            purpose=e.purpose,
            channel=e.channel,
            granted=e.status is ConsentStatus.GIVEN,
            since=e.given_at or e.withdrawn_at or e.created_at,
            entry_id=e.id,
        )
        for e in latest.values()
    ]


async def consent_log(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> list[Consent]:
    await get_person(session, scope, person_id=person_id)
    return await ConsentLogRepository(session).of_person(person_id)


async def record_consent_entry(
    session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, data: ConsentEntryCreate
) -> Consent:
    """Append a grant or a withdrawal for one purpose and channel of the catalogue; earlier entries stay as they
    were (the controller's burden of proof, art. 8 §2). A generic "all purposes" consent cannot be recorded."""
    await get_person(session, scope, person_id=person_id)
    purpose = await _purpose(session, scope, data.purpose)
    entry = _entry(person_id, purpose, channel=data.channel, granted=data.granted, source=data.source, scope=scope)
    entry.text_version = data.text_version
    session.add(entry)
    await session.flush()
    if not data.granted:
        _announce_withdrawal(session, scope, entry)
    return entry


def _entry(
    person_id: uuid.UUID, purpose: PurposeRead, *, channel: str, granted: bool, source: str | None, scope: Scope
) -> Consent:
    now = utcnow()
    return Consent(
        person_id=person_id,
        purpose=purpose.key,
        channel=channel,
        legal_basis=purpose.legal_basis.value,
        source=source,
        status=ConsentStatus.GIVEN if granted else ConsentStatus.WITHDRAWN,
        given_at=now if granted else None,
        withdrawn_at=None if granted else now,
        recorded_by_id=_acting_user(scope),
    )


def _announce_withdrawal(session: AsyncSession, scope: Scope, entry: Consent) -> None:
    payload = {"person_id": str(entry.person_id), "purpose": entry.purpose, "channel": entry.channel}
    enqueue(session, ConsentWithdrawn(tenant_id=_tenant(scope), payload=payload))


def _tenant(scope: Scope) -> uuid.UUID:
    if scope.tenant_id is None:
        raise RuntimeError("LGPD actions are taken for one tenant")
    return scope.tenant_id


# Opt-outs from messages


@dataclass(frozen=True, slots=True)
class OptOut:
    """What an inbound message did: the person it came from (None when unknown or not an opt-out) and the
    withdrawals appended to their consent log."""

    person_id: uuid.UUID | None
    withdrawn: list[Consent] = field(default_factory=list)


def is_opt_out_message(text: str) -> bool:
    """True when the whole message is an opt-out word ("SAIR", "Parar.", "stop"); a sentence that merely contains
    one ("quero sair de casa cedo") is not an opt-out."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", letters) in OPT_OUT_WORDS and len(letters.split()) == 1


async def record_opt_out_from_message(
    session: AsyncSession,
    scope: Scope,
    *,
    channel: str,
    sender: str,
    text: str,
    source: str | None = None,
) -> OptOut:
    """Withdraw every marketing purpose on ``channel`` ("whatsapp", "sms", "email") for the person who sent
    ``text`` from ``sender`` (a phone, WhatsApp id or e-mail), when the message is an opt-out word.

    Revoking is as easy as granting (art. 8 §5): no confirmation step. Unknown senders and ordinary messages
    change nothing. ``source`` says where the message came from (e.g. "whatsapp:<message id>").
    """
    if not is_opt_out_message(text):
        return OptOut(person_id=None)
    people = await _senders(session, scope, channel, sender)
    if not people:
        return OptOut(person_id=None)
    person = people[0]
    marketing = [p for p in await list_purposes(session, scope) if p.is_marketing]
    withdrawn = []
    for purpose in marketing:
        entry = _entry(
            person.id, purpose, channel=channel, granted=False, source=source or f"message:{channel}", scope=scope
        )
        session.add(entry)
        withdrawn.append(entry)
    await session.flush()
    for entry in withdrawn:
        _announce_withdrawal(session, scope, entry)
    return OptOut(person_id=person.id, withdrawn=withdrawn)


async def _senders(session: AsyncSession, scope: Scope, channel: str, sender: str) -> list[Person]:
    if channel == "email":
        return await find_people_by_identity(session, scope, email=sender)
    return await find_people_by_identity(session, scope, phone=sender, whatsapp_id=sender)


# Marketing permission (pipeline rules ask before a marketing action)


@dataclass(frozen=True, slots=True)
class MarketingPermission:
    allowed: bool
    why: str


async def marketing_permission(
    session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, channel: str = ANY_CHANNEL
) -> MarketingPermission:
    """May the tenant send marketing to the person on ``channel``? Under consent, only after a grant that was not
    withdrawn since; under legitimate interest, unless the person objected (a withdrawal)."""
    log = await ConsentLogRepository(session).of_person(person_id)
    states = {(s.purpose, s.channel): s for s in current_consents(log)}
    reasons = []
    for purpose in (p for p in await list_purposes(session, scope) if p.is_marketing):
        state = _latest(states, purpose.key, channel)
        if purpose.legal_basis is LegalBasis.CONSENT:
            if state is not None and state.granted:
                return MarketingPermission(True, f"consent for {purpose.key} on {state.channel}")
            reasons.append(
                f"no consent for {purpose.key} on {channel}"
                if state is None
                else f"consent for {purpose.key} withdrawn on {state.channel}"
            )
        elif state is None or state.granted:
            return MarketingPermission(True, f"legitimate interest for {purpose.key}, no objection")
        else:
            reasons.append(f"objection to {purpose.key} on {state.channel}")
    return MarketingPermission(False, "; ".join(reasons) or "no marketing purpose defined")


def _latest(states: dict[tuple[str, str], ConsentState], purpose: str, channel: str) -> ConsentState | None:
    candidates = [s for key in ((purpose, channel), (purpose, ANY_CHANNEL)) if (s := states.get(key))]
    return max(candidates, key=lambda s: s.since, default=None)


# Data-subject requests


async def open_request(session: AsyncSession, scope: Scope, *, data: RequestCreate) -> PrivacyRequest:
    """Log a request (art. 18) with its 15-day clock, counted from when the subject asked."""
    if data.person_id is not None:
        await get_person(session, scope, person_id=data.person_id)
    received = data.received_at or utcnow()
    request = RequestRepository(session).add(
        PrivacyRequest(
            person_id=data.person_id,
            kind=data.kind,
            channel=data.channel,
            received_at=received,
            due_at=received + REQUEST_DEADLINE,
            details=data.details,
            opened_by_id=_acting_user(scope),
        )
    )
    await session.flush()
    return request


async def list_requests(
    session: AsyncSession,
    scope: Scope,
    *,
    status: RequestStatus | None,
    person_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[PrivacyRequest], str | None]:
    """The inbox, the most urgent first (earliest due date)."""
    requests = RequestRepository(session)
    stmt = requests.filtered(status=status, person_id=person_id)
    return await requests.page(stmt, cursor=cursor, limit=limit, sort="due_at", descending=False)


async def close_request(
    session: AsyncSession, scope: Scope, *, request_id: uuid.UUID, data: RequestClose
) -> PrivacyRequest:
    request = await RequestRepository(session).get_or_raise(request_id, error=RequestNotFound)
    if request.status is RequestStatus.CLOSED:
        raise RequestAlreadyClosed(f"request {request_id} was closed at {request.closed_at}")
    request.status = RequestStatus.CLOSED
    request.outcome = data.outcome
    request.outcome_note = data.note
    request.closed_at = utcnow()
    request.closed_by_id = _acting_user(scope)
    await session.flush()
    return request


def request_clock(request: PrivacyRequest, *, now: datetime | None = None) -> tuple[bool, int]:
    """(overdue, whole days left): an open request past its due date is overdue; a closed one never is."""
    now = now or utcnow()
    left = request.due_at - now
    whole_days = int(abs(left.total_seconds()) // 86_400)  # towards zero: "1 day overdue" for 1 day and 3 hours
    days = whole_days if left >= timedelta(0) else -whole_days
    return request.status is RequestStatus.OPEN and left < timedelta(0), days


# Suppression list


def _contact_digests(kind: IdentityKind, match_key: str) -> tuple[str, list[str]]:
    group = CONTACT_KINDS[kind]
    return group, keys.contact_digests(group, match_key)


async def is_suppressed(
    session: AsyncSession, scope: Scope, *, emails: Iterable[str] = (), phones: Iterable[str] = ()
) -> bool:
    """True when any of these contacts (as typed: any format) belongs to an anonymised or erased person, so an
    import or a form must not silently re-create them."""
    suppressions = SuppressionRepository(session)
    for kind, match_key in _typed_contacts(emails, phones):
        group, digests = _contact_digests(kind, match_key)
        if await suppressions.existing(group, digests):
            return True
    return False


async def any_suppressed(session: AsyncSession, scope: Scope, *, identities: Iterable[IdentityValue]) -> bool:
    """True when any of these normalised identities (e-mail, phone, WhatsApp) is on the suppression list."""
    suppressions = SuppressionRepository(session)
    for identity in identities:
        if identity.kind in CONTACT_KINDS:
            group, digests = _contact_digests(identity.kind, identity.match_key)
            if await suppressions.existing(group, digests):
                return True
    return False


async def flag_if_suppressed(
    session: AsyncSession, scope: Scope, *, person: Person, identities: Iterable[IdentityValue]
) -> bool:
    """A person just created from a suppressed contact came back by themselves (a form, a chat): they asked to be
    contacted, so the enquiry is kept, but never silently: the return is audited on the new person."""
    if not await any_suppressed(session, scope, identities=identities):
        return False
    audit.record(session, action="suppressed_contact_returned", entity_type="people", entity_id=person.id)
    return True


def _typed_contacts(emails: Iterable[str], phones: Iterable[str]) -> list[tuple[IdentityKind, str]]:
    found = []
    for raw in emails:
        try:
            found.append((IdentityKind.EMAIL, email_identity(raw).match_key))
        except InvalidValue:
            continue
    for raw in phones:
        for parser in (phone_identity, whatsapp_identity):
            try:
                found.append((IdentityKind.PHONE, parser(raw).match_key))
                break
            except InvalidValue:
                continue
    return found


async def _suppress(session: AsyncSession, identities: Sequence[PersonIdentity], reason: str) -> int:
    suppressions = SuppressionRepository(session)
    added: set[tuple[str, str]] = set()
    for identity in identities:
        if identity.kind not in CONTACT_KINDS:
            continue
        group, digests = _contact_digests(identity.kind, identity.match_key)
        if (group, digests[0]) in added or await suppressions.existing(group, digests):
            continue
        suppressions.add(Suppression(kind=group, digest=digests[0], reason=reason))
        added.add((group, digests[0]))
    return len(added)


# Anonymisation


async def anonymise_person(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, reason: str) -> Anonymisation:
    """Replace the person's personal data everywhere it is held, keep every aggregate, and make the raw events
    that mention them unreadable (their data keys are destroyed). Idempotent: anonymising twice returns the
    first record. Works on soft-deleted people too (retention anonymises them).

    Kept: leads with their pipeline, stage, status, source, channel, attribution, value and timings; stage
    history; consents (proof of what was allowed, art. 16 I); the counts of interactions, tasks and visits.
    Replaced: name; removed: CPF, birth date, notes, custom fields, every identity (e-mail, phone, WhatsApp,
    CPF, tracking ids), free text of leads, interactions, tasks, visits and the subject's requests, attachment
    names. The e-mails and phones go to the suppression list as HMACs.
    """
    subject = SubjectDataRepository(session)
    person = await subject.person(person_id)
    if person is None:
        raise PersonNotFound(f"person {person_id} not found")
    done = await AnonymisationRepository(session).of_person(person.id)
    if done is not None:
        return done
    summary = await _scrub(session, subject, person, reason)
    record = AnonymisationRepository(session).add(
        Anonymisation(
            person_id=person.id,
            reason=reason,
            anonymised_at=utcnow(),
            anonymised_by_id=_acting_user(scope),
            summary=summary,
        )
    )
    audit.record(
        session, action="anonymise", entity_type="people", entity_id=person.id, changes={"reason": [None, reason]}
    )
    enqueue(
        session, PersonAnonymised(tenant_id=_tenant(scope), payload={"person_id": str(person.id), "reason": reason})
    )
    await session.flush()
    return record


async def _scrub(session: AsyncSession, subject: SubjectDataRepository, person: Person, reason: str) -> dict[str, int]:
    identities = await subject.identities(person.id)
    summary = {
        "suppressed_contacts": await _suppress(session, identities, reason="anonymised"),
        "data_keys_destroyed": await _destroy_keys(session, subject, person.id, identities),
        "identities": len(identities),
    }
    for identity in identities:
        await session.delete(identity)
    for contact in await subject.channel_contacts(person.id):  # the WhatsApp/Instagram address of a chat
        await session.delete(contact)
    person.name, person.cpf_cnpj, person.birth_date = ANONYMISED_NAME, None, None
    person.notes, person.custom_fields = None, {}
    leads = await subject.leads(person.id)
    lead_ids = [lead.id for lead in leads]
    for lead in leads:
        lead.title, lead.loss_note, lead.custom_fields = None, None, {}
    summary["leads"] = len(leads)
    summary.update(await _scrub_activities(subject, person.id, lead_ids))
    for request in await RequestRepository(session).of_person(person.id):
        request.details, request.outcome_note = None, None
    for merge in await subject.merges(person.id):
        merge.survivor_before = {}
    await session.flush()
    return summary


async def _scrub_activities(
    subject: SubjectDataRepository, person_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> dict[str, int]:
    interactions = await subject.interactions(person_id, lead_ids)
    for interaction in interactions:
        interaction.subject, interaction.body, interaction.meta = None, None, {}
    tasks = await subject.tasks(person_id, lead_ids)
    for task in tasks:
        task.title, task.notes = ANONYMISED_TEXT, None
    visits = await subject.visits(lead_ids)
    for visit in visits:
        visit.feedback, visit.notes = None, None
    attachments = await subject.attachments(person_id, lead_ids)
    for attachment in attachments:
        attachment.filename = ANONYMISED_TEXT
    return {
        "interactions": len(interactions),
        "tasks": len(tasks),
        "visits": len(visits),
        "attachments": len(attachments),
    }


CONTACT_KINDS = {IdentityKind.EMAIL: "email", IdentityKind.PHONE: "phone", IdentityKind.WHATSAPP: "phone"}


def _contact_refs(identities: Sequence[PersonIdentity]) -> set[str]:
    """The names of the keys of the person's e-mails and phones, under every configured secret (a key made
    before a rotation is still found)."""
    return {
        digest
        for identity in identities
        if (kind := CONTACT_KINDS.get(identity.kind)) is not None
        for digest in keys.contact_key_refs(kind, identity.match_key)
    }


async def _destroy_keys(
    session: AsyncSession, subject: SubjectDataRepository, person_id: uuid.UUID, identities: Sequence[PersonIdentity]
) -> int:
    """Every key that sealed the person's data in the event log: their own, those tied to them (deliveries and
    forms read for them), their visitors' (tracking ids), their user ids' (a site's user id may be their e-mail or
    phone), their e-mails' and phones' (events whose traits name them, whoever sent them) and those of the events
    that converted their leads."""
    repo = DataKeyRepository(session)
    found = await repo.of_person(person_id, tracking_ids_of(identities))
    user_refs = {d for i in identities for value in {i.value, i.match_key} for d in keys.contact_digests("user", value)}
    found += await repo.by_refs(sealing.USER, sorted(user_refs))
    found += await repo.by_refs(sealing.CONTACT, sorted(_contact_refs(identities)))
    conversions = await subject.conversions([lead.id for lead in await subject.leads(person_id)])
    events = await subject.events([], [c.event_id for c in conversions if c.event_id is not None])
    for kind, ref in set(subjects_of_events(events)):
        if (key := await repo.for_subject(kind, ref)) is not None:
            found.append(key)
    destroyed = 0
    for key in {k.id: k for k in found}.values():
        if key.wrapped is not None:
            key.wrapped, key.destroyed_at = None, utcnow()
            destroyed += 1
    return destroyed
