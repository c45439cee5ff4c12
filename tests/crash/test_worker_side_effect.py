"""A worker killed right after a partner accepted a webhook, before it recorded that: the partner gets the same
delivery again, under the same ``webhook-id``, and deduplicating on it keeps one record (plan §2, test 33).

The worker runs with ``LEADFLOW_CRASH_AT=after_side_effect`` (the crash point between ``post_signed`` returning and
the attempt's commit) until it kills itself, then again without it. Checked afterwards: every outbox message done,
each (message, handler) run recorded once, one delivery per event with one recorded attempt, and the partner's
requests, grouped by ``webhook-id``, one record per event with identical repeated bodies.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from leadflow.bus.outbox import publish
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import (
    DeliveryStatus,
    HandlerRun,
    OutboxMessage,
    OutboxStatus,
    WebhookAttempt,
    WebhookDelivery,
)
from leadflow.pipeline.events import LeadSlaBreached
from leadflow.webhook import service as webhooks
from leadflow.webhook.schemas import EndpointCreate
from tests import factories
from tests.crash.conftest import Account
from tests.crash.harness import Deployment, eventually
from tests.loopback import LoopbackServer, loopback_server

pytestmark = pytest.mark.slow

EVENTS = 3


@pytest.fixture
def partner() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        yield server


def settings_of(site: Deployment) -> Settings:
    """The workers' settings as far as webhooks go (same data dir: the same local signing secret)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=site.data_dir,
        secret_key=None,
        webhooks_allow_loopback=True,
    )


async def subscribe_partner_and_publish(site: Deployment, account: Account, url: str) -> list[LeadSlaBreached]:
    db = site.database()
    scope = factories.owner_scope(account.tenant)
    try:
        async with db.session(scope) as session:
            data = EndpointCreate(url=url, event_types=["lead.sla_breached"])
            await webhooks.create_endpoint(
                session, scope, data=data, config=webhooks.WebhookConfig.from_settings(settings_of(site))
            )
        events = [
            LeadSlaBreached(tenant_id=account.tenant.id, payload={"lead_id": str(uuid.uuid4())}) for _ in range(EVENTS)
        ]
        for event in events:
            async with db.session(Scope.for_tenant(account.tenant.id)) as session:
                await publish(session, event)
        return events
    finally:
        await db.dispose()


async def state(db: Database, account: Account) -> tuple[list[OutboxMessage], list[WebhookDelivery], int, Counter]:
    async with db.session(Scope.for_tenant(account.tenant.id)) as session:
        messages = list((await session.scalars(select(OutboxMessage))).all())
        deliveries = list((await session.scalars(select(WebhookDelivery))).all())
        attempts = len((await session.scalars(select(WebhookAttempt))).all())
        runs = Counter((await session.execute(select(HandlerRun.message_id, HandlerRun.handler))).all())
    return messages, deliveries, attempts, runs


def read_state(site: Deployment, account: Account) -> tuple[list[OutboxMessage], list[WebhookDelivery], int, Counter]:
    async def read() -> tuple[list[OutboxMessage], list[WebhookDelivery], int, Counter]:
        db = site.database()
        try:
            return await state(db, account)
        finally:
            await db.dispose()

    return asyncio.run(read())


class TestAWorkerKilledAfterThePartnerAcceptedAWebhook:
    def test_the_partner_keeps_one_record_per_event_and_we_record_one_attempt(
        self, site: Deployment, account: Account, partner: LoopbackServer, logs: Path
    ) -> None:
        events = asyncio.run(subscribe_partner_and_publish(site, account, partner.url + "/hooks"))
        settings = {"webhooks_allow_loopback": "true", "webhooks_timeout_seconds": "5"}
        log = logs / "worker.log"

        crashing = site.worker(log, "--lease", "1", crash_at="after_side_effect", **settings)
        assert crashing.wait() == -signal.SIGKILL, crashing.output()
        _, deliveries, attempts, _ = read_state(site, account)
        assert len(partner.received) == 1  # the partner has the first delivery ...
        assert attempts == 0  # ... and we have no record of it
        assert all(delivery.status == DeliveryStatus.PENDING for delivery in deliveries)

        def delivered() -> bool:
            _, deliveries, _, _ = read_state(site, account)
            return len(deliveries) == EVENTS and all(d.status == DeliveryStatus.DELIVERED for d in deliveries)

        recovering = site.worker(log, "--lease", "1", **settings)
        try:
            eventually(delivered, timeout=60, message=recovering.output)
            eventually(
                lambda: all(m.status == OutboxStatus.DONE for m in read_state(site, account)[0]),
                timeout=30,
                message=recovering.output,
            )
        finally:
            assert recovering.stop() == 0, recovering.output()

        messages, deliveries, attempts, runs = read_state(site, account)
        assert {d.event_id for d in deliveries} == {e.id for e in events}
        assert [d.attempts for d in deliveries] == [1] * EVENTS
        assert attempts == EVENTS
        assert set(runs.values()) == {1}, "a (message, handler) pair ran twice"
        # The webhook side: one handler each, the fan-out of an event or one delivery (the breach also notifies).
        assert sum(1 for _, handler in runs if handler.startswith("webhook.")) == len(messages)

        records: dict[str, set[bytes]] = {}
        for request in partner.received:
            records.setdefault(request.headers["webhook-id"], set()).add(request.body)
        assert len(partner.received) == EVENTS + 1  # the cut-off delivery was sent twice
        assert len(records) == EVENTS  # under one webhook-id: the partner keeps one record per event
        assert all(len(bodies) == 1 for bodies in records.values())
        assert {f"msg_{d.id.hex}" for d in deliveries} == set(records)
