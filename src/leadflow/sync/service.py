"""CRM sync: connect a tenant's CRM (HubSpot, Pipedrive, Salesforce or RD Station CRM; secrets sealed), push people
with their latest lead keyed by our id, and re-sync on request. Every push goes through ``external_refs``: a payload
that hashes like the last accepted one is not sent again, so duplicate events and replays cost nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.config import Settings
from leadflow.integrations.base import Capability, ProviderError
from leadflow.integrations.hubspot.client import MAX_BATCH, ContactUpsert, HubSpotClient, HubSpotError
from leadflow.integrations.hubspot.settings import HubSpotSettings
from leadflow.integrations.pipedrive.client import PipedriveClient, PipedriveError, PipedriveSettings
from leadflow.integrations.rdstation.client import RdStationClient, RdStationError, RdStationSettings
from leadflow.integrations.registry import public_schema, split_secrets
from leadflow.integrations.salesforce.client import SalesforceClient, SalesforceError, SalesforceSettings
from leadflow.integrations.schemas import ConnectionTestResult, ProviderRead
from leadflow.kit.errors import NotFound, ValidationFailed
from leadflow.kit.http import RetryPolicy, SsrfPolicy, UnsafeUrl, check_url
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.models import CrmConnection, ExternalRef, IdentityKind
from leadflow.sync.events import ResyncRequested
from leadflow.sync.fields import (
    FIELDS,
    mapped,
    our_fields,
    payload_hash,
    pipedrive_person,
    rdstation_contact,
    salesforce_record,
)
from leadflow.sync.repository import (
    CrmConnectionRepository,
    ExternalRefRepository,
    SyncSourceRepository,
    lock_entity,
    pending_pushes,
)

log = structlog.get_logger("leadflow.sync")

HUBSPOT = "hubspot"
PIPEDRIVE = "pipedrive"
SALESFORCE = "salesforce"
RDSTATION = "rdstation"
# A push runs inside a bus handler whose claim is a 60 s lease: its calls, waits included, must end well before.
CRM_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0, max_retry_after=10.0)
# A manager waits for a connection check: one try, the CRM's answer (even a 429) is the result.
CHECK_RETRY = RetryPolicy(attempts=1)
MAX_ERROR = 500


class CrmConnectionNotFound(NotFound):
    code = "crm-connection-not-found"
    title = "CRM connection not found"


@dataclass(frozen=True)
class SyncConfig:
    ring: KeyRing
    hubspot_base_url: str
    pipedrive_base_url: str = "https://api.pipedrive.com"
    # Salesforce's instance URL and RD Station's base URL are typed per connection: they pass the SSRF guard.
    policy: SsrfPolicy = field(default_factory=SsrfPolicy)
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncConfig:
        return cls(
            ring=KeyRing(settings.signing_keys()),
            hubspot_base_url=settings.hubspot_base_url,
            pipedrive_base_url=settings.pipedrive_base_url,
            policy=SsrfPolicy(allow_loopback=settings.webhooks_allow_loopback),
        )


@dataclass
class PushReport:
    pushed: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)


def _context(connection_id: uuid.UUID) -> bytes:
    return b"crm-connection:" + str(connection_id).encode()


def _opened(ring: KeyRing, connection: CrmConnection) -> dict[str, object]:
    """Settings with the secrets, in memory only; secrets sealed under a previous instance key are re-sealed under
    the current one (stored with the caller's transaction), so key rotation completes as connections are used."""
    secrets = ring.open_json(connection.credentials, context=_context(connection.id))
    if ring.needs_reseal(connection.credentials):
        connection.credentials = ring.seal_json(secrets, context=_context(connection.id))
    return {**connection.settings, **secrets}


def hubspot_settings(ring: KeyRing, connection: CrmConnection) -> HubSpotSettings:
    return HubSpotSettings.model_validate(_opened(ring, connection))


def pipedrive_settings(ring: KeyRing, connection: CrmConnection) -> PipedriveSettings:
    return PipedriveSettings.model_validate(_opened(ring, connection))


def salesforce_settings(ring: KeyRing, connection: CrmConnection) -> SalesforceSettings:
    return SalesforceSettings.model_validate(_opened(ring, connection))


def rdstation_settings(ring: KeyRing, connection: CrmConnection) -> RdStationSettings:
    return RdStationSettings.model_validate(_opened(ring, connection))


def hubspot_client(settings: HubSpotSettings, config: SyncConfig, retry: RetryPolicy = CRM_RETRY) -> HubSpotClient:
    return HubSpotClient(
        config.hubspot_base_url,
        settings.access_token.get_secret_value(),
        id_property=settings.id_property,
        retry=retry,
        timeout=config.timeout,
    )


def pipedrive_client(
    settings: PipedriveSettings, config: SyncConfig, retry: RetryPolicy = CRM_RETRY
) -> PipedriveClient:
    token = settings.api_token.get_secret_value()
    return PipedriveClient(config.pipedrive_base_url, token, retry=retry, timeout=config.timeout)


def salesforce_client(
    settings: SalesforceSettings,
    config: SyncConfig,
    retry: RetryPolicy = CRM_RETRY,
    *,
    connection: CrmConnection | None = None,
) -> SalesforceClient:
    """With a refresh token, an expired access token is renewed on the way and the new one sealed into
    ``connection`` (stored with the caller's transaction), so the next push does not renew again."""
    renewed = None if connection is None else partial(_store_secret, config.ring, connection, "access_token")
    return SalesforceClient(
        settings.instance_url,
        settings.access_token.get_secret_value(),
        policy=config.policy,
        api_version=settings.api_version,
        retry=retry,
        timeout=config.timeout,
        renewal=settings.renewal(),
        on_renewed=renewed,
    )


def _store_secret(ring: KeyRing, connection: CrmConnection, name: str, value: str) -> None:
    secrets = ring.open_json(connection.credentials, context=_context(connection.id))
    connection.credentials = ring.seal_json({**secrets, name: value}, context=_context(connection.id))


def rdstation_client(
    settings: RdStationSettings, config: SyncConfig, retry: RetryPolicy = CRM_RETRY
) -> RdStationClient:
    token = settings.api_token.get_secret_value()
    return RdStationClient(settings.base_url, token, policy=config.policy, retry=retry, timeout=config.timeout)


CRM_PROVIDERS: dict[str, tuple[str, type[BaseModel]]] = {
    HUBSPOT: ("HubSpot", HubSpotSettings),
    PIPEDRIVE: ("Pipedrive", PipedriveSettings),
    SALESFORCE: ("Salesforce", SalesforceSettings),
    RDSTATION: ("RD Station CRM", RdStationSettings),
}


def crm_providers() -> list[ProviderRead]:
    """The CRMs, described as the channel providers are (``GET /v1/integrations/providers`` lists both)."""
    capabilities = sorted({Capability.CRM_SYNC, Capability.CONNECTION_TEST})
    return [
        ProviderRead(
            name=name,
            title=title,
            capabilities=capabilities,
            settings_schema=public_schema(settings),
            connect=f"PUT /v1/sync/{name}",
        )
        for name, (title, settings) in CRM_PROVIDERS.items()
    ]


async def _check_base_url(field_name: str, url: str, policy: SsrfPolicy) -> None:
    try:
        await check_url(url, policy)
    except UnsafeUrl as refused:
        raise ValidationFailed(
            f"the CRM cannot be reached at this URL: {refused.reason}",
            errors=[{"field": field_name, "message": refused.reason}],
        ) from refused


def _check_mapping(mapping: dict[str, str]) -> None:
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            "unknown fields in the mapping",
            errors=[{"field": f"field_mapping.{name}", "message": f"known: {', '.join(FIELDS)}"} for name in unknown],
        )


async def _connect(session: AsyncSession, *, provider: str, data: BaseModel, config: SyncConfig) -> CrmConnection:
    """Store the settings (their ``SecretStr`` fields sealed, the rest shown back) as the tenant's connection."""
    public, secrets = split_secrets(data)
    repo = CrmConnectionRepository(session)
    connection = await repo.of_provider(provider) or repo.add(
        CrmConnection(id=new_id(), provider=provider, credentials=b"")
    )
    connection.settings = public
    connection.credentials = config.ring.seal_json(secrets, context=_context(connection.id))
    connection.enabled = True
    # New credentials start with a clean slate: the refusal recorded was the old token's, and leaving it would show
    # the connection unhealthy until the next push, right after the manager fixed it.
    connection.last_error = connection.last_error_at = None
    await session.flush()
    return connection


async def connect_hubspot(
    session: AsyncSession, scope: Scope, *, data: HubSpotSettings, config: SyncConfig
) -> CrmConnection:
    """Create or replace the tenant's HubSpot connection; the token is sealed and never shown again."""
    _check_mapping(data.field_mapping)
    return await _connect(session, provider=HUBSPOT, data=data, config=config)


async def connect_pipedrive(
    session: AsyncSession, scope: Scope, *, data: PipedriveSettings, config: SyncConfig
) -> CrmConnection:
    """Create or replace the tenant's Pipedrive connection; the API token is sealed and never shown again."""
    _check_mapping(data.field_mapping)
    return await _connect(session, provider=PIPEDRIVE, data=data, config=config)


async def connect_salesforce(
    session: AsyncSession, scope: Scope, *, data: SalesforceSettings, config: SyncConfig
) -> CrmConnection:
    """Create or replace the tenant's Salesforce connection; the tokens and the app's secret are sealed and never
    shown again."""
    _check_mapping(data.field_mapping)
    await _check_base_url("instance_url", data.instance_url, config.policy)
    if data.refresh_token is not None:
        await _check_base_url("login_url", data.login_url, config.policy)
    return await _connect(session, provider=SALESFORCE, data=data, config=config)


async def connect_rdstation(
    session: AsyncSession, scope: Scope, *, data: RdStationSettings, config: SyncConfig
) -> CrmConnection:
    """Create or replace the tenant's RD Station CRM connection; the API token is sealed and never shown again."""
    _check_mapping(data.field_mapping)
    await _check_base_url("base_url", data.base_url, config.policy)
    return await _connect(session, provider=RDSTATION, data=data, config=config)


async def connect(
    session: AsyncSession, scope: Scope, *, provider: str, settings: dict[str, Any], config: SyncConfig
) -> CrmConnection:
    """Connect any CRM from its settings as sent (the console's form): validated by the provider's own model (a
    pydantic ``ValidationError`` names the field), then connected as its ``PUT /v1/sync/<provider>`` does."""
    if provider not in CRM_PROVIDERS:
        raise CrmConnectionNotFound(f"no CRM named {provider}")
    data = CRM_PROVIDERS[provider][1].model_validate(settings)
    return await _CONNECTS[provider](session, scope, data=data, config=config)


_CONNECTS: dict[str, Callable[..., Awaitable[CrmConnection]]] = {
    HUBSPOT: connect_hubspot,
    PIPEDRIVE: connect_pipedrive,
    SALESFORCE: connect_salesforce,
    RDSTATION: connect_rdstation,
}


async def list_connections(session: AsyncSession, scope: Scope) -> Sequence[CrmConnection]:
    return await CrmConnectionRepository(session).listed()


async def backlog(session: AsyncSession, scope: Scope) -> int:
    return await pending_pushes(session)


async def get_connection(session: AsyncSession, scope: Scope, *, provider: str) -> CrmConnection:
    connection = await CrmConnectionRepository(session).of_provider(provider)
    if connection is None:
        raise CrmConnectionNotFound(f"no {provider} connection")
    return connection


async def disconnect(session: AsyncSession, scope: Scope, *, provider: str) -> None:
    """Forget the connection and the refs it made (the CRM's records stay where they are)."""
    connection = await get_connection(session, scope, provider=provider)
    refs = ExternalRefRepository(session)
    for ref in await refs.all(refs.select().where(ExternalRef.provider == provider)):
        await session.delete(ref)
    await session.delete(connection)


async def test_connection(
    session: AsyncSession, scope: Scope, *, provider: str, config: SyncConfig, now: datetime
) -> ConnectionTestResult:
    """Ask the CRM whether the token opens the account and the field our pushes key on exists; a refusal is the
    connection's last error, a success its last success (a manager checks a connection right after fixing it)."""
    connection = await get_connection(session, scope, provider=provider)
    try:
        await _check(connection, config)
    except ProviderError as error:
        _record_error(connection, str(error), now)
        return ConnectionTestResult(ok=False, detail=str(error)[:MAX_ERROR])
    connection.last_success_at = now
    return ConnectionTestResult(ok=True)


async def _check(connection: CrmConnection, config: SyncConfig) -> None:
    ring = config.ring
    if connection.provider == HUBSPOT:
        await hubspot_client(hubspot_settings(ring, connection), config, CHECK_RETRY).check()
    elif connection.provider == PIPEDRIVE:
        settings = pipedrive_settings(ring, connection)
        await pipedrive_client(settings, config, CHECK_RETRY).check(settings.id_field_key)
    elif connection.provider == SALESFORCE:
        sf = salesforce_settings(ring, connection)
        await salesforce_client(sf, config, CHECK_RETRY, connection=connection).check(sf.sobject, sf.external_id_field)
    elif connection.provider == RDSTATION:
        rd = rdstation_settings(ring, connection)
        await rdstation_client(rd, config, CHECK_RETRY).check(rd.id_field_id)


async def request_resync(
    session: AsyncSession, scope: Scope, *, provider: str, person_ids: list[uuid.UUID] | None, force: bool
) -> None:
    connection = await get_connection(session, scope, provider=provider)
    payload = {
        "provider": provider,
        "person_ids": [str(i) for i in person_ids] if person_ids is not None else None,
        "force": force,
    }
    enqueue(session, ResyncRequested(tenant_id=connection.tenant_id, payload=payload))


async def push_people(
    session: AsyncSession,
    scope: Scope,
    *,
    connection: CrmConnection,
    person_ids: Sequence[uuid.UUID] | None,
    config: SyncConfig,
    now: datetime,
    force: bool = False,
) -> PushReport:
    """Push the people (None: everyone with a lead) to the connection's CRM in batches.

    Raises the provider's error (``retryable``) for a failure worth retrying later (429, 5xx, timeout) so the
    bus retries the whole push (unchanged people are skipped then); other refusals are recorded on the
    connection (and on the ref of each failed person) and end the push.
    """
    source = SyncSourceRepository(session)
    ids = list(person_ids) if person_ids is not None else await source.people_with_leads()
    report = PushReport()
    push = _PUSHES.get(connection.provider)
    if push is None:
        log.warning("sync.unknown_provider", provider=connection.provider)
        return report
    await push(session, connection, ids, report, config=config, now=now, force=force)
    if report.pushed and not report.failed:
        connection.last_success_at = now
    return report


async def _push_hubspot(
    session: AsyncSession,
    connection: CrmConnection,
    ids: list[uuid.UUID],
    report: PushReport,
    *,
    config: SyncConfig,
    now: datetime,
    force: bool,
) -> None:
    settings = hubspot_settings(config.ring, connection)
    client = hubspot_client(settings, config)
    for start in range(0, len(ids), MAX_BATCH):
        batch = ids[start : start + MAX_BATCH]
        await _push_batch(session, connection, client, settings, batch, report, now=now, force=force)


async def _push_batch(
    session: AsyncSession,
    connection: CrmConnection,
    client: HubSpotClient,
    settings: HubSpotSettings,
    batch: list[uuid.UUID],
    report: PushReport,
    *,
    now: datetime,
    force: bool,
) -> None:
    properties = await _properties_of(session, batch, settings)
    refs = await ExternalRefRepository(session).for_entities(HUBSPOT, "person", list(properties))
    to_send: dict[uuid.UUID, tuple[dict[str, str], str]] = {}
    for person_id, props in properties.items():
        digest = payload_hash(props)
        ref = refs.get(person_id)
        if not force and ref is not None and ref.last_pushed_hash == digest:
            report.unchanged.append(person_id)
        else:
            to_send[person_id] = (props, digest)
    if not to_send:
        return
    contacts = [
        ContactUpsert(id=str(pid), properties=props, trace_id=f"{pid}:{digest[:12]}")
        for pid, (props, digest) in to_send.items()
    ]
    try:
        result = await client.upsert_contacts(contacts)
    except HubSpotError as error:
        _record_error(connection, str(error), now)
        if error.retryable:
            raise
        report.failed.update({pid: str(error) for pid in to_send})
        log.warning("sync.push_refused", provider=HUBSPOT, status=error.status, people=len(to_send))
        return
    for pid, (_, digest) in to_send.items():
        created, failure = result.created.get(str(pid)), result.failed.get(str(pid))
        _apply(session, HUBSPOT, "contact", refs, pid, digest, created, failure, report, now)
    if report.failed:
        _record_error(connection, next(iter(report.failed.values())), now)


def _apply(
    session: AsyncSession,
    provider: str,
    external_type: str,
    refs: dict[uuid.UUID, ExternalRef],
    person_id: uuid.UUID,
    digest: str,
    created: tuple[str, bool] | None,
    failure: str | None,
    report: PushReport,
    now: datetime,
) -> None:
    ref = refs.get(person_id)
    if created is None:
        report.failed[person_id] = failure or "not accepted"
        if ref is not None:
            ref.last_error, ref.last_error_at = (failure or "not accepted")[:MAX_ERROR], now
        return
    external_id, _new = created
    if ref is None:
        ref = ExternalRef(provider=provider, entity_type="person", entity_id=person_id, external_type=external_type)
        session.add(ref)
    ref.external_type, ref.external_id = external_type, external_id
    ref.last_pushed_hash, ref.last_pushed_at = digest, now
    ref.last_error = ref.last_error_at = None
    report.pushed.append(person_id)


def _record_error(connection: CrmConnection, message: str, now: datetime) -> None:
    connection.last_error, connection.last_error_at = message[:MAX_ERROR], now


async def _our_values(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
    """Our fields of each person (with their latest lead) that the tenant still has."""
    source = SyncSourceRepository(session)
    people = await source.people(ids)
    identities = await source.primary_identities(ids)
    leads = await source.latest_leads(ids)
    stages = await source.stages({lead.stage_id for lead in leads.values()})
    owners = await source.users({lead.owner_id for lead in leads.values() if lead.owner_id})
    found: dict[uuid.UUID, dict[str, str]] = {}
    for person in people:
        lead = leads.get(person.id)
        found[person.id] = our_fields(
            person,
            email=identities.get((person.id, IdentityKind.EMAIL)),
            phone=identities.get((person.id, IdentityKind.PHONE)),
            lead=lead,
            stage=stages.get(lead.stage_id) if lead else None,
            owner=owners.get(lead.owner_id) if lead and lead.owner_id else None,
        )
    return found


async def _properties_of(
    session: AsyncSession, ids: list[uuid.UUID], settings: HubSpotSettings
) -> dict[uuid.UUID, dict[str, str]]:
    # The id property is our person id, always sent: it is what makes the upsert idempotent.
    return {
        pid: {**mapped(values, settings.field_mapping), settings.id_property: str(pid)}
        for pid, values in (await _our_values(session, ids)).items()
    }


async def _push_pipedrive(
    session: AsyncSession,
    connection: CrmConnection,
    ids: list[uuid.UUID],
    report: PushReport,
    *,
    config: SyncConfig,
    now: datetime,
    force: bool,
) -> None:
    """No upsert in Pipedrive: under a per-person lock, update the person we linked before, else find them by our
    id in the id custom field (a crash after a create is healed here), else create them."""
    settings = pipedrive_settings(config.ring, connection)
    client = pipedrive_client(settings, config)
    refs = await ExternalRefRepository(session).for_entities(PIPEDRIVE, "person", ids)
    for pid, values in (await _our_values(session, ids)).items():
        body = pipedrive_person(
            values, id_field_key=settings.id_field_key, entity_id=str(pid), mapping=settings.field_mapping
        )
        digest = payload_hash(body)
        ref = refs.get(pid)
        if not force and ref is not None and ref.last_pushed_hash == digest:
            report.unchanged.append(pid)
            continue
        await lock_entity(session, f"crm:{PIPEDRIVE}:{connection.tenant_id}:{pid}")
        try:
            external_id = await _write_pipedrive(client, settings, ref, str(pid), body)
        except PipedriveError as error:
            _record_error(connection, str(error), now)
            if error.retryable:
                raise
            _apply(session, PIPEDRIVE, "person", refs, pid, digest, None, str(error), report, now)
            continue
        _apply(session, PIPEDRIVE, "person", refs, pid, digest, (external_id, ref is None), None, report, now)


async def _write_pipedrive(
    client: PipedriveClient, settings: PipedriveSettings, ref: ExternalRef | None, our_id: str, body: dict[str, object]
) -> str:
    if ref is not None:
        updated = await client.update_person(ref.external_id, body)
        if updated is not None:
            return updated
    found = await client.find_person(settings.id_field_key, our_id)
    if found is not None:
        updated = await client.update_person(found, body)
        if updated is not None:
            return updated
    return await client.create_person(body)


async def _push_salesforce(
    session: AsyncSession,
    connection: CrmConnection,
    ids: list[uuid.UUID],
    report: PushReport,
    *,
    config: SyncConfig,
    now: datetime,
    force: bool,
) -> None:
    """One upsert by the External ID field per person: idempotent by construction, so a crash after the write and
    before our ref is stored only upserts the same record again."""
    settings = salesforce_settings(config.ring, connection)
    client = salesforce_client(settings, config, connection=connection)
    refs = await ExternalRefRepository(session).for_entities(SALESFORCE, "person", ids)
    for pid, values in (await _our_values(session, ids)).items():
        record = salesforce_record(
            values,
            sobject=settings.sobject,
            mapping=settings.field_mapping,
            company=settings.company,
            entity_id=str(pid),
        )
        # Where the record goes is part of what was sent: another object or key field means another record.
        digest = payload_hash({"sobject": settings.sobject, "key": settings.external_id_field, "fields": record})
        if await _unchanged(session, connection, refs, pid, digest, force=force, report=report):
            continue
        try:
            upserted = await client.upsert(settings.sobject, settings.external_id_field, str(pid), record)
        except SalesforceError as error:
            if _refused(session, connection, refs, pid, digest, error, report, now):
                break
            continue
        created = (upserted.record_id, upserted.created)
        _apply(session, SALESFORCE, settings.sobject[:32], refs, pid, digest, created, None, report, now)


async def _push_rdstation(
    session: AsyncSession,
    connection: CrmConnection,
    ids: list[uuid.UUID],
    report: PushReport,
    *,
    config: SyncConfig,
    now: datetime,
    force: bool,
) -> None:
    """No upsert in RD Station CRM: under a per-person lock, update the contact we linked before, else find it by
    our id in the id custom field (a crash after a create is healed here), else create it."""
    settings = rdstation_settings(config.ring, connection)
    client = rdstation_client(settings, config)
    refs = await ExternalRefRepository(session).for_entities(RDSTATION, "person", ids)
    for pid, values in (await _our_values(session, ids)).items():
        body = rdstation_contact(
            values, id_field_id=settings.id_field_id, entity_id=str(pid), mapping=settings.field_mapping
        )
        digest = payload_hash(body)
        if await _unchanged(session, connection, refs, pid, digest, force=force, report=report):
            continue
        try:
            external_id = await _write_rdstation(client, settings, refs.get(pid), str(pid), body)
        except RdStationError as error:
            if _refused(session, connection, refs, pid, digest, error, report, now):
                break
            continue
        created = (external_id, pid not in refs)
        _apply(session, RDSTATION, "contact", refs, pid, digest, created, None, report, now)


async def _write_rdstation(
    client: RdStationClient, settings: RdStationSettings, ref: ExternalRef | None, our_id: str, body: dict[str, Any]
) -> str:
    if ref is not None:
        updated = await client.update_contact(ref.external_id, body)
        if updated is not None:
            return updated
    found = await client.find_contact(settings.id_field_id, our_id)
    if found is not None:
        updated = await client.update_contact(found, body)
        if updated is not None:
            return updated
    return await client.create_contact(body)


async def _unchanged(
    session: AsyncSession,
    connection: CrmConnection,
    refs: dict[uuid.UUID, ExternalRef],
    person_id: uuid.UUID,
    digest: str,
    *,
    force: bool,
    report: PushReport,
) -> bool:
    """True (and counted) when the CRM already has this payload. A person about to be sent is locked first and their
    ref read again: another worker may have pushed them while we waited, and what it stored (the record's id, the
    hash it sent) is what this push builds on."""
    if not force and _same(refs.get(person_id), digest):
        report.unchanged.append(person_id)
        return True
    await lock_entity(session, f"crm:{connection.provider}:{connection.tenant_id}:{person_id}")
    fresh = await ExternalRefRepository(session).for_entities(connection.provider, "person", [person_id])
    if person_id in fresh:
        refs[person_id] = fresh[person_id]
    if not force and _same(refs.get(person_id), digest):
        report.unchanged.append(person_id)
        return True
    return False


def _same(ref: ExternalRef | None, digest: str) -> bool:
    return ref is not None and ref.last_pushed_hash == digest


def _refused(
    session: AsyncSession,
    connection: CrmConnection,
    refs: dict[uuid.UUID, ExternalRef],
    person_id: uuid.UUID,
    digest: str,
    error: SalesforceError | RdStationError,
    report: PushReport,
    now: datetime,
) -> bool:
    """Record a refusal on the connection (its health) and the person's ref; raise again what is worth retrying
    (the bus retries the whole push, unchanged people skipped). True when the push must stop: a refused token
    would refuse everyone after this person too."""
    _record_error(connection, str(error), now)
    if error.retryable:
        raise error
    _apply(session, connection.provider, "", refs, person_id, digest, None, str(error), report, now)
    log.warning("sync.push_refused", provider=connection.provider, status=error.status, auth=error.auth_failed)
    return error.auth_failed


class _Push(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        connection: CrmConnection,
        ids: list[uuid.UUID],
        report: PushReport,
        *,
        config: SyncConfig,
        now: datetime,
        force: bool,
    ) -> None: ...


_PUSHES: dict[str, _Push] = {
    HUBSPOT: _push_hubspot,
    PIPEDRIVE: _push_pipedrive,
    SALESFORCE: _push_salesforce,
    RDSTATION: _push_rdstation,
}
