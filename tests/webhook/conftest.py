"""A partner receiver on loopback that verifies every request with the ``standardwebhooks`` library, settings that
let partner endpoints live on loopback, and a worker running the real handlers on a clock the test moves."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook, WebhookVerificationError

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Tenant
from leadflow.webhook import handlers
from tests.bus.conftest import Clock
from tests.loopback import LoopbackServer, Received, Reply, loopback_server


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path,  # type: ignore[arg-type]
        secret_key=SecretStr("test-signing-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant=None,
        redis_url=None,
        log_format="json",
        webhooks_allow_loopback=True,
        webhooks_timeout_seconds=2.0,  # short, yet long enough for a loopback reply on a loaded 2-core machine
    )


@pytest.fixture
def clock(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The dispatcher's clock is also the handlers' "now", and the handlers read the test's settings."""
    clock = Clock()
    monkeypatch.setattr(handlers, "utcnow", clock)
    monkeypatch.setattr(handlers, "get_settings", lambda: settings)
    return clock


@pytest.fixture
def worker(db: Database, clock: Clock) -> Dispatcher:
    discover_handlers()
    return Dispatcher(db, registry, retry=RetryPolicy(max_attempts=3), clock=clock, rng=random.Random(3))


async def drain(dispatcher: Dispatcher) -> None:
    """Deliver every message due now: the test's clock is brought up to real time before each batch, since
    messages published meanwhile (a manual redelivery, an API call) are stamped with the real time."""
    assert isinstance(dispatcher.clock, Clock)
    while True:
        dispatcher.clock.now = max(dispatcher.clock.now, utcnow())
        if not await dispatcher.dispatch_once():
            return


class Partner:
    """The partner's side: a real HTTP server that checks each request's Standard Webhooks signature."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.secret: str | None = None
        self.verified: list[Any] = []
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return self.server.url + "/hooks/leadflow"

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def verify(self, request: Received) -> Any:
        assert self.secret is not None, "the test must give the partner its secret"
        return Webhook(self.secret).verify(request.body, request.headers)

    def answer(self, request: Received) -> Reply:
        try:
            self.verified.append(self.verify(request))
        except WebhookVerificationError as refused:
            self.refused.append(str(refused))
            return Reply(401, "bad signature")
        return self.server.replies.popleft() if self.server.replies else self.server.default


@pytest.fixture
def partner() -> Iterator[Partner]:
    holder: list[Partner] = []
    with loopback_server(lambda request: holder[0].answer(request)) as server:
        holder.append(Partner(server))
        yield holder[0]


async def create_endpoint(
    client: httpx.AsyncClient, url: str, event_types: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks", json={"url": url, "event_types": event_types or ["lead.created"], **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tenant_scope(tenant: Tenant) -> Scope:
    return Scope.for_tenant(tenant.id)
