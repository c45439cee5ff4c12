"""Connection secrets at rest: sealed as one JSON object with the instance's key ring (``settings.signing_keys()``;
rotation: the current key seals, previous keys still open, ``reseal`` moves a row to the current key), bound to
the connection's id so a sealed value copied to another row does not open."""

from __future__ import annotations

import uuid
from typing import Any

from leadflow.config import Settings, get_settings
from leadflow.integrations.registry import ProviderSpec
from leadflow.kit.sealing import KeyRing
from leadflow.models import IntegrationConnection


def key_ring(settings: Settings | None = None) -> KeyRing:
    return KeyRing((settings or get_settings()).signing_keys())


def _context(connection_id: uuid.UUID) -> bytes:
    return b"integration-connection:" + str(connection_id).encode()


def seal(ring: KeyRing, connection_id: uuid.UUID, secrets: dict[str, Any]) -> bytes:
    return ring.seal_json(secrets, context=_context(connection_id))


def opened_settings(ring: KeyRing, spec: ProviderSpec, connection: IntegrationConnection) -> Any:
    """The provider's settings object, secrets included (only in memory, for the call being made)."""
    secrets = ring.open_json(connection.credentials, context=_context(connection.id))
    return spec.settings_schema.model_validate({**connection.settings, **secrets})


def reseal(ring: KeyRing, connection: IntegrationConnection) -> bool:
    """Re-seal under the current key after a rotation; True when the row changed."""
    if not ring.needs_reseal(connection.credentials):
        return False
    secrets = ring.open_json(connection.credentials, context=_context(connection.id))
    connection.credentials = seal(ring, connection.id, secrets)
    return True
