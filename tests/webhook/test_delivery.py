"""Delivering domain events to partner endpoints: persisted first, signed per Standard Webhooks, retried on the
schedule, logged per attempt, redelivered on demand, and endpoints that keep failing disabled."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.outbox import enqueue
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.kit.time import utcnow
from leadflow.lead.events import LeadAssigned, LeadCreated
from leadflow.models import (
    AuditEntry,
    DeliveryStatus,
    EndpointStatus,
    OutboxMessage,
    Tenant,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.webhook import handlers
from leadflow.webhook.delivery import RETRY_SCHEDULE
from tests import factories
from tests.bus.conftest import Clock
from tests.loopback import Reply
from tests.webhook.conftest import Partner, create_endpoint, drain


async def publish_lead_created(db: Database, tenant: Tenant, **payload: Any) -> LeadCreated:
    event = LeadCreated(tenant_id=tenant.id, payload={"lead_id": str(uuid.uuid4()), "status": "open", **payload})
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        enqueue(session, event)
    return event


async def deliveries_of(db: Database, tenant: Tenant) -> list[WebhookDelivery]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))).all())


async def attempts_of(db: Database, tenant: Tenant) -> list[WebhookAttempt]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number))).all())


async def endpoint_row(db: Database, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        row = await session.get(WebhookEndpoint, uuid.UUID(endpoint_id))
        assert row is not None
        return row


async def outbox_events(db: Database, tenant: Tenant, name: str) -> list[OutboxMessage]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_name == name)
        return list((await session.scalars(stmt)).all())


@pytest.fixture
async def endpoint(as_manager: httpx.AsyncClient, partner: Partner) -> dict[str, Any]:
    created = await create_endpoint(as_manager, partner.url, ["lead.created"])
    partner.secret = created["secret"]
    return created


async def advance_and_drain(worker: Dispatcher, clock: Clock, delta: timedelta) -> None:
    clock.advance(delta)
    while await worker.dispatch_once():
        pass


class TestSignedDelivery:
    async def test_a_delivery_verifies_with_the_standard_webhooks_library(
        self, db: Database, tenant: Tenant, worker: Dispatcher, partner: Partner, endpoint: dict[str, Any]
    ) -> None:
        event = await publish_lead_created(db, tenant, channel="whatsapp")
        await drain(worker)
        assert partner.refused == []
        assert len(partner.verified) == 1
        body = partner.verified[0]
        assert body["type"] == "lead.created"
        assert body["data"]["lead_id"] == event.payload["lead_id"]
        assert body["data"]["event_id"] == str(event.id)
        assert body["timestamp"].endswith("Z")

    async def test_the_request_carries_the_standard_headers_and_our_user_agent(
        self, db: Database, tenant: Tenant, worker: Dispatcher, partner: Partner, endpoint: dict[str, Any]
    ) -> None:
        await publish_lead_created(db, tenant)
        await drain(worker)
        headers = partner.received[0].headers
        assert headers["webhook-id"].startswith("msg_")
        assert headers["webhook-timestamp"].isdigit()
        assert headers["webhook-signature"].startswith("v1,")
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("leadflow-webhooks/")

    async def test_a_wrong_secret_does_not_verify(
        self, db: Database, tenant: Tenant, worker: Dispatcher, partner: Partner, endpoint: dict[str, Any]
    ) -> None:
        partner.secret = "whsec_" + "A" * 43 + "="
        await publish_lead_created(db, tenant)
        await drain(worker)
        assert partner.verified == []
        assert partner.refused


class TestFanOut:
    async def test_the_delivery_is_persisted_before_anything_is_sent(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        await publish_lead_created(db, tenant)
        clock.now = utcnow()
        await worker.dispatch_once()  # the domain event only: it fans out, the attempt is a message of its own
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == 0
        assert partner.received == []

    async def test_only_endpoints_subscribed_to_the_event_type_receive_it(
        self, db: Database, tenant: Tenant, worker: Dispatcher, partner: Partner, as_manager: httpx.AsyncClient
    ) -> None:
        created = await create_endpoint(as_manager, partner.url, ["lead.assigned"])
        partner.secret = created["secret"]
        await publish_lead_created(db, tenant)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            enqueue(session, LeadAssigned(tenant_id=tenant.id, payload={"lead_id": "x"}))
        await drain(worker)
        assert [body["type"] for body in partner.verified] == ["lead.assigned"]

    async def test_a_star_subscription_receives_every_event_type(
        self, db: Database, tenant: Tenant, worker: Dispatcher, partner: Partner, as_manager: httpx.AsyncClient
    ) -> None:
        created = await create_endpoint(as_manager, partner.url, ["*"])
        partner.secret = created["secret"]
        await publish_lead_created(db, tenant)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            enqueue(session, LeadAssigned(tenant_id=tenant.id, payload={"lead_id": "x"}))
        await drain(worker)
        assert sorted(body["type"] for body in partner.verified) == ["lead.assigned", "lead.created"]

    async def test_a_disabled_endpoint_receives_nothing(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        response = await as_manager.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": False})
        assert response.status_code == 200
        await publish_lead_created(db, tenant)
        await drain(worker)
        assert partner.received == []
        assert await deliveries_of(db, tenant) == []

    async def test_another_tenants_events_never_reach_this_tenants_endpoint(
        self,
        db: Database,
        tenant: Tenant,
        other_tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        await publish_lead_created(db, other_tenant)
        await drain(worker)
        assert partner.received == []

    async def test_a_correction_of_a_person_tells_the_partner_which_fields_changed_never_their_values(
        self,
        as_manager: httpx.AsyncClient,
        worker: Dispatcher,
        partner: Partner,
        db: Database,
        tenant: Tenant,
    ) -> None:
        created = await create_endpoint(as_manager, partner.url, ["person.updated"])
        partner.secret = created["secret"]
        person = await factories.make_person(db, tenant)
        response = await as_manager.patch(f"/v1/people/{person.id}", json={"emails": ["nova@example.com"]})
        assert response.status_code == 200, response.text
        await drain(worker)
        [body] = partner.verified
        assert body["type"] == "person.updated"
        assert (body["data"]["person_id"], body["data"]["fields"]) == (str(person.id), ["emails"])
        assert "nova@example.com" not in partner.received[0].body.decode()

    async def test_a_lead_created_through_the_api_reaches_the_partner(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        await factories.make_pipeline(db, tenant)
        response = await as_manager.post("/v1/leads", json={"person": {"name": "Maria Silva"}})
        assert response.status_code == 201, response.text
        await drain(worker)
        [body] = partner.verified
        assert body["data"]["lead_id"] == response.json()["id"]


class TestRetries:
    async def test_a_500_is_retried_after_the_first_step_of_the_schedule(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(500, "database down"))
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.next_attempt_at is not None
        # Measured from the attempt, not from the test's clock: drain() brings that clock up to real time after a
        # slow attempt on a loaded machine.
        [attempt] = await attempts_of(db, tenant)
        wait = delivery.next_attempt_at - attempt.started_at
        assert RETRY_SCHEDULE[0] <= wait <= RETRY_SCHEDULE[0] * 1.1 + timedelta(seconds=1)

        await advance_and_drain(worker, clock, timedelta(seconds=7))
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED
        first, second = await attempts_of(db, tenant)
        assert (first.status_code, first.error_kind, first.response_excerpt) == (500, "http", "database down")
        assert (second.status_code, second.error_kind) == (200, None)
        assert first.duration_ms >= 0
        assert first.next_attempt_at is not None

    async def test_the_webhook_id_is_stable_and_the_timestamp_fresh_across_retries(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(503))
        await publish_lead_created(db, tenant)
        await drain(worker)
        await advance_and_drain(worker, clock, timedelta(seconds=7))
        first, second = partner.received
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.body == second.body
        assert len(partner.verified) == 2  # each attempt signed afresh

    async def test_a_timeout_is_logged_and_retried(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(200, delay=3.0))  # the test settings give an attempt 2 s
        await publish_lead_created(db, tenant)
        await drain(worker)
        [first] = await attempts_of(db, tenant)
        assert first.error_kind == "timeout"
        assert first.status_code is None
        await advance_and_drain(worker, clock, timedelta(seconds=7))
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED

    async def test_a_429_retry_after_is_honoured(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(429, headers={"Retry-After": "120"}))
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.next_attempt_at is not None
        [attempt] = await attempts_of(db, tenant)
        assert delivery.next_attempt_at - attempt.started_at >= timedelta(seconds=120)  # from the attempt, see above
        await advance_and_drain(worker, clock, timedelta(seconds=60))
        assert len(partner.received) == 1  # not before the partner said
        await advance_and_drain(worker, clock, timedelta(seconds=61))
        assert len(partner.received) == 2
        assert (await deliveries_of(db, tenant))[0].status == DeliveryStatus.DELIVERED

    async def test_a_redirect_is_a_failure_and_is_not_followed(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(302, headers={"Location": "http://169.254.169.254/"}))
        await publish_lead_created(db, tenant)
        await drain(worker)
        [attempt] = await attempts_of(db, tenant)
        assert attempt.status_code == 302
        assert attempt.error_kind == "http"
        assert len(partner.received) == 1

    async def test_after_the_whole_schedule_the_delivery_fails_and_says_so(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.extend(Reply(500) for _ in range(len(RETRY_SCHEDULE) + 1))
        await publish_lead_created(db, tenant)
        await drain(worker)
        for step in RETRY_SCHEDULE:
            await advance_and_drain(worker, clock, step * 1.1 + timedelta(seconds=1))
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == len(RETRY_SCHEDULE) + 1
        assert len(partner.received) == len(RETRY_SCHEDULE) + 1
        [failed] = await outbox_events(db, tenant, "webhook.delivery_failed")
        assert failed.payload["delivery_id"] == str(delivery.id)
        await advance_and_drain(worker, clock, timedelta(days=2))
        assert len(partner.received) == len(RETRY_SCHEDULE) + 1


class TestKeyRotation:
    async def test_a_secret_sealed_under_the_previous_instance_key_still_signs_and_is_resealed(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        sealed_before = (await endpoint_row(db, tenant, endpoint["id"])).secret
        rotated = settings.model_copy(
            update={
                "secret_key": SecretStr("a-brand-new-key-" + "y" * 32),
                "previous_secret_keys": [settings.secret_key],
            }
        )
        monkeypatch.setattr(handlers, "get_settings", lambda: rotated)
        await publish_lead_created(db, tenant)
        await drain(worker)
        assert len(partner.verified) == 1
        sealed_after = (await endpoint_row(db, tenant, endpoint["id"])).secret
        assert sealed_after != sealed_before
        assert not KeyRing(rotated.signing_keys()).needs_reseal(sealed_after)


class TestSsrfAtSendTime:
    async def test_a_loopback_endpoint_is_refused_when_sending_without_the_flag(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        strict = settings.model_copy(update={"webhooks_allow_loopback": False})
        monkeypatch.setattr(handlers, "get_settings", lambda: strict)
        await publish_lead_created(db, tenant)
        await drain(worker)
        assert partner.received == []
        [attempt] = await attempts_of(db, tenant)
        assert attempt.error_kind == "blocked"


class TestRedelivery:
    async def test_a_manager_redelivers_with_the_same_webhook_id_and_a_fresh_signature(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        response = await as_manager.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}/redeliver")
        assert response.status_code == 202, response.text
        await drain(worker)
        first, again = partner.received
        assert first.headers["webhook-id"] == again.headers["webhook-id"]
        assert len(partner.verified) == 2
        detail = (await as_manager.get(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}")).json()
        assert [a["trigger"] for a in detail["attempt_log"]] == ["scheduled", "manual"]

    async def test_redelivering_a_failed_delivery_that_now_succeeds_marks_it_delivered(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        partner.server.replies.extend(Reply(500) for _ in range(len(RETRY_SCHEDULE) + 1))
        await publish_lead_created(db, tenant)
        await drain(worker)
        for step in RETRY_SCHEDULE:
            await advance_and_drain(worker, clock, step * 1.1 + timedelta(seconds=1))
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.FAILED
        await as_manager.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}/redeliver")
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED

    async def test_a_failed_manual_attempt_does_not_add_retries(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        partner.server.replies.append(Reply(500))
        await as_manager.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}/redeliver")
        await drain(worker)
        await advance_and_drain(worker, clock, timedelta(days=2))
        assert len(partner.received) == 2
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED  # the earlier success stands


class TestDisabling:
    async def test_an_endpoint_failing_for_the_configured_days_is_disabled_and_its_creator_notified(
        self,
        db: Database,
        tenant: Tenant,
        manager: User,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.default = Reply(500)
        partner.server.replies.clear()
        await publish_lead_created(db, tenant)
        await drain(worker)
        row = await endpoint_row(db, tenant, endpoint["id"])
        assert row.failing_since is not None
        assert row.status == EndpointStatus.ENABLED
        clock.advance(timedelta(days=5, minutes=1))
        await publish_lead_created(db, tenant)
        await advance_and_drain(worker, clock, timedelta(seconds=1))

        row = await endpoint_row(db, tenant, endpoint["id"])
        assert row.status == EndpointStatus.DISABLED
        assert row.disabled_reason == "every delivery failed for 5 days"
        [disabled] = await outbox_events(db, tenant, "webhook.endpoint_disabled")
        assert disabled.payload["notify_user_id"] == str(manager.id)
        assert disabled.payload["endpoint_id"] == endpoint["id"]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            actions = (await session.scalars(select(AuditEntry.action))).all()
        assert "webhook_endpoint.auto_disabled" in actions

    async def test_a_success_in_between_resets_the_failing_clock(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(500))
        await publish_lead_created(db, tenant)
        await drain(worker)
        await advance_and_drain(worker, clock, timedelta(seconds=7))  # the retry succeeds
        assert (await endpoint_row(db, tenant, endpoint["id"])).failing_since is None

    async def test_a_410_gone_disables_the_endpoint_at_once(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
    ) -> None:
        partner.server.replies.append(Reply(410))
        await publish_lead_created(db, tenant)
        await drain(worker)
        row = await endpoint_row(db, tenant, endpoint["id"])
        assert row.status == EndpointStatus.DISABLED
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.FAILED
        await advance_and_drain(worker, clock, timedelta(days=1))
        assert len(partner.received) == 1

    async def test_pending_retries_of_a_deleted_endpoint_end_without_sending(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        endpoint: dict[str, Any],
        as_manager: httpx.AsyncClient,
    ) -> None:
        partner.server.replies.append(Reply(500))
        await publish_lead_created(db, tenant)
        await drain(worker)
        assert (await as_manager.delete(f"/v1/webhooks/{endpoint['id']}")).status_code == 204
        await advance_and_drain(worker, clock, timedelta(minutes=1))
        assert len(partner.received) == 1
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.FAILED
