"""Fake CRMs on loopback (HubSpot, Pipedrive, Salesforce, RD Station CRM), settings pointing at them, and a worker
running the real handlers."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.config import Settings
from leadflow.integrations import credentials
from leadflow.kit.db import Database
from leadflow.sync import handlers
from tests.bus.conftest import Clock
from tests.sync.fake_hubspot import FakeHubSpot
from tests.sync.fake_pipedrive import FakePipedrive
from tests.sync.fake_rdstation import FakeRdStation
from tests.sync.fake_salesforce import FakeSalesforce


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


@pytest.fixture
def pipedrive() -> Iterator[FakePipedrive]:
    fake = FakePipedrive()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


@pytest.fixture
def salesforce() -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


@pytest.fixture
def rdstation() -> Iterator[FakeRdStation]:
    fake = FakeRdStation()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


@pytest.fixture
def settings(tmp_path: object, hubspot: FakeHubSpot, pipedrive: FakePipedrive) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path,  # type: ignore[arg-type]
        secret_key=SecretStr("test-signing-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant=None,
        redis_url=None,
        log_format="json",
        hubspot_base_url=hubspot.url,
        pipedrive_base_url=pipedrive.url,
        webhooks_allow_loopback=True,  # tenant-typed base URLs (Chatwoot, Salesforce, RD Station) are fakes on loopback
    )


@pytest.fixture
def worker(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Dispatcher:
    monkeypatch.setattr(handlers, "get_settings", lambda: settings)
    monkeypatch.setattr(credentials, "get_settings", lambda: settings)  # the integrations core's key ring
    discover_handlers()
    return Dispatcher(db, registry, retry=RetryPolicy(max_attempts=3), clock=Clock(), rng=random.Random(3))


async def drain(dispatcher: Dispatcher) -> None:
    from leadflow.kit.time import utcnow

    assert isinstance(dispatcher.clock, Clock)
    while True:
        dispatcher.clock.now = max(dispatcher.clock.now, utcnow())
        if not await dispatcher.dispatch_once():
            return
