"""Managing a tenant's connections: connect (validated by the provider's schema, secrets sealed), change, test,
health and disconnect. Secrets are never returned, logged or put in an error message."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.integrations.base import Capability, ProviderError
from leadflow.integrations.credentials import opened_settings, seal
from leadflow.integrations.registry import PROVIDERS, ProviderSpec, provider, split_secrets
from leadflow.integrations.repository import ConnectionRepository, pending_deliveries
from leadflow.integrations.schemas import (
    ConnectionCreate,
    ConnectionHealth,
    ConnectionRead,
    ConnectionTestResult,
    ConnectionUpdate,
    ProviderRead,
)
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.kit.time import utcnow
from leadflow.models import ConnectionStatus, IntegrationConnection, Team

log = structlog.get_logger("leadflow.integrations")
MAX_ERROR = 500
HEALTH_WRITE_INTERVAL = timedelta(minutes=1)


class ConnectionNotFound(NotFound):
    pass


def list_providers() -> list[ProviderRead]:
    return [
        ProviderRead(
            name=spec.name,
            title=spec.title,
            capabilities=sorted(spec.capabilities),
            settings_schema=spec.public_schema(),
        )
        for spec in PROVIDERS.values()
    ]


def read_connection(connection: IntegrationConnection, ring: KeyRing) -> ConnectionRead:
    spec = _spec(connection.provider)
    secrets = ring.open_json(connection.credentials, context=_ctx(connection))
    return ConnectionRead(
        id=connection.id,
        provider=connection.provider,
        key=connection.key,
        name=connection.name,
        team_id=connection.team_id,
        settings=dict(connection.settings),
        secrets_set=sorted(name for name in spec.secret_fields() if secrets.get(name)),
        webhook_path=f"/hooks/{connection.provider}/{connection.key}",
        status=connection.status,
        last_success_at=connection.last_success_at,
        last_error_at=connection.last_error_at,
        last_error=connection.last_error,
        created_at=connection.created_at,
    )


def _ctx(connection: IntegrationConnection) -> bytes:
    return b"integration-connection:" + str(connection.id).encode()


async def list_connections(session: AsyncSession, scope: Scope) -> list[IntegrationConnection]:
    return list(await ConnectionRepository(session).listed())


async def get_connection(session: AsyncSession, scope: Scope, *, connection_id: uuid.UUID) -> IntegrationConnection:
    return await ConnectionRepository(session).get_or_raise(connection_id, error=ConnectionNotFound)


async def connect(
    session: AsyncSession, scope: Scope, *, data: ConnectionCreate, ring: KeyRing
) -> IntegrationConnection:
    """Raises ValidationFailed (422) for an unknown provider, settings its schema refuses or a team that is not
    there; Conflict (409) when the key is taken for that provider."""
    spec = _spec_or_invalid(data.provider)
    validated = _validated(spec, data.settings)
    await _check_team(session, data.team_id)
    repo = ConnectionRepository(session)
    if await repo.by_key(spec.name, data.key) is not None:
        raise Conflict(f"a {spec.name} connection with key {data.key!r} exists")
    public, secrets = split_secrets(validated)
    connection_id = new_id()
    connection = IntegrationConnection(
        id=connection_id,
        provider=spec.name,
        key=data.key,
        name=data.name,
        team_id=data.team_id,
        settings=public,
        credentials=seal(ring, connection_id, secrets),
    )
    repo.add(connection)
    await session.flush()
    log.info("integrations.connected", provider=spec.name, key=data.key, connection_id=str(connection_id))
    return connection


async def update_connection(
    session: AsyncSession, scope: Scope, *, connection_id: uuid.UUID, data: ConnectionUpdate, ring: KeyRing
) -> IntegrationConnection:
    connection = await get_connection(session, scope, connection_id=connection_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and data.name is not None:
        connection.name = data.name
    if "team_id" in changes:
        await _check_team(session, data.team_id)
        connection.team_id = data.team_id
    if data.settings is not None:
        spec = _spec(connection.provider)
        kept = ring.open_json(connection.credentials, context=_ctx(connection))
        merged = {**{k: v for k, v in kept.items() if k not in data.settings}, **data.settings}
        public, secrets = split_secrets(_validated(spec, merged))
        connection.settings = public
        connection.credentials = seal(ring, connection.id, secrets)
    await session.flush()
    return connection


async def disconnect(session: AsyncSession, scope: Scope, *, connection_id: uuid.UUID) -> None:
    """The row and its sealed secrets are deleted: deliveries to its URL are refused from now on (404)."""
    connection = await get_connection(session, scope, connection_id=connection_id)
    await session.delete(connection)
    await session.flush()


async def test_connection(
    session: AsyncSession, scope: Scope, *, connection_id: uuid.UUID, ring: KeyRing
) -> ConnectionTestResult:
    """Ask the provider whether the credentials work; the outcome is kept as the connection's health."""
    connection = await get_connection(session, scope, connection_id=connection_id)
    spec = _spec(connection.provider)
    if Capability.CONNECTION_TEST not in spec.capabilities or spec.messaging is None:
        return ConnectionTestResult(ok=True, detail="this provider calls us: its deliveries show the health")
    try:
        await spec.messaging(opened_settings(ring, spec, connection)).test()
    except ProviderError as exc:
        note_failure(connection, str(exc))
        return ConnectionTestResult(ok=False, detail=str(exc))
    note_success(connection)
    return ConnectionTestResult(ok=True)


async def health(session: AsyncSession, scope: Scope, *, connection_id: uuid.UUID) -> ConnectionHealth:
    connection = await get_connection(session, scope, connection_id=connection_id)
    return ConnectionHealth(
        status=connection.status,
        last_success_at=connection.last_success_at,
        last_error_at=connection.last_error_at,
        last_error=connection.last_error,
        backlog=await backlog(session, scope),
    )


async def backlog(session: AsyncSession, scope: Scope) -> int:
    """Verified inbound deliveries of the tenant still waiting for their intake, every connection together."""
    return await pending_deliveries(session)


def note_success(connection: IntegrationConnection) -> None:
    """Healthy again. Written at most once a minute while healthy: every delivery would otherwise update one hot
    row and serialise a busy number's webhooks on it."""
    now = utcnow()
    last = connection.last_success_at
    if connection.status is ConnectionStatus.ACTIVE and last is not None and now - last < HEALTH_WRITE_INTERVAL:
        return
    connection.status = ConnectionStatus.ACTIVE
    connection.last_success_at = now


def note_failure(connection: IntegrationConnection, reason: str) -> None:
    connection.status = ConnectionStatus.FAILING
    connection.last_error_at = utcnow()
    connection.last_error = reason[:MAX_ERROR]


def _spec(name: str) -> ProviderSpec:
    spec = provider(name)
    if spec is None:
        raise ConnectionNotFound(f"provider {name!r} is not known")
    return spec


def _spec_or_invalid(name: str) -> ProviderSpec:
    spec = provider(name)
    if spec is None:
        raise ValidationFailed(
            "unknown provider", errors=[{"field": "provider", "message": f"one of {', '.join(sorted(PROVIDERS))}"}]
        )
    return spec


def _validated(spec: ProviderSpec, settings: dict[str, Any]) -> Any:
    try:
        return spec.settings_schema.model_validate(settings)
    except ValidationError as exc:
        # The field names and messages only: a refused value may be a secret.
        errors = [
            {"field": "settings." + ".".join(str(p) for p in error["loc"]), "message": error["msg"]}
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise ValidationFailed("the settings do not fit the provider", errors=errors) from None


async def _check_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise ValidationFailed("team not found", errors=[{"field": "team_id", "message": "no such team"}])
