"""The partner webhooks API: endpoints with their secret shown once, the SSRF guard on their URLs, secret
rotation, who may manage them, and tenant isolation of endpoints and deliveries."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from standardwebhooks import Webhook

from leadflow.app import create_app
from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.outbox import enqueue
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.lead.events import LeadCreated
from leadflow.models import AuditEntry, Role, Tenant, User, WebhookEndpoint
from leadflow.webhook.signing import headers_for
from tests import factories
from tests.webhook.conftest import Partner, create_endpoint, drain


@pytest_asyncio.fixture
async def rival_manager(db: Database, other_tenant: Tenant) -> User:
    return await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")


@pytest_asyncio.fixture
async def as_rival(app: Any, other_tenant: Tenant, rival_manager: User) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.logged_in(app, other_tenant, rival_manager) as client:
        yield client


@pytest_asyncio.fixture
async def strict_manager(
    db: Database, settings: Settings, tenant: Tenant, manager: User
) -> AsyncIterator[httpx.AsyncClient]:
    """A manager of an app with production's guard: loopback refused like every other private address."""
    strict = settings.model_copy(update={"webhooks_allow_loopback": False})
    async with factories.logged_in(create_app(strict, database=db), tenant, manager) as client:
        yield client


class TestCreateEndpoint:
    async def test_answers_the_secret_once_in_standard_webhooks_format(self, as_manager: httpx.AsyncClient) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook", ["lead.created", "lead.assigned"])
        secret = created["secret"]
        assert secret.startswith("whsec_")
        assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
        assert created["event_types"] == ["lead.assigned", "lead.created"]
        assert created["status"] == "enabled"

        shown = (await as_manager.get(f"/v1/webhooks/{created['id']}")).json()
        listed = (await as_manager.get("/v1/webhooks")).json()["items"]
        assert "secret" not in shown
        assert all("secret" not in item for item in listed)
        assert secret not in str(listed)

    async def test_two_endpoints_get_different_secrets(self, as_manager: httpx.AsyncClient) -> None:
        first = await create_endpoint(as_manager, "http://127.0.0.1:9/a")
        second = await create_endpoint(as_manager, "http://127.0.0.1:9/b")
        assert first["secret"] != second["secret"]

    async def test_the_secret_is_sealed_at_rest_and_kept_out_of_the_audit_log(
        self, db: Database, tenant: Tenant, as_manager: httpx.AsyncClient
    ) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        raw_secret = base64.b64decode(created["secret"].removeprefix("whsec_"))
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            row = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
            assert row is not None
            assert created["secret"].encode() not in row.secret
            assert raw_secret not in row.secret
            entries = (await session.scalars(select(AuditEntry))).all()
        assert created["secret"] not in str([entry.changes for entry in entries])

    @pytest.mark.parametrize(
        "url",
        [
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.8/hook",
            "http://192.168.0.10/hook",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "file:///etc/passwd",
            "http://user:secret@127.0.0.1/hook",
        ],
    )
    async def test_refuses_private_and_metadata_targets_with_a_clear_422(
        self, as_manager: httpx.AsyncClient, url: str
    ) -> None:
        response = await as_manager.post("/v1/webhooks", json={"url": url, "event_types": ["lead.created"]})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"].endswith("/unsafe-webhook-url")
        assert problem["errors"][0]["field"] == "url"

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook"])
    async def test_refuses_loopback_unless_the_test_flag_is_set(
        self, strict_manager: httpx.AsyncClient, url: str
    ) -> None:
        response = await strict_manager.post("/v1/webhooks", json={"url": url, "event_types": ["lead.created"]})
        assert response.status_code == 422, response.text

    async def test_refuses_unknown_event_types(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["lead.exploded"]}
        )
        assert response.status_code == 422
        assert "lead.exploded" in response.text

    async def test_lists_the_event_types_partners_may_subscribe_to(self, as_manager: httpx.AsyncClient) -> None:
        types = (await as_manager.get("/v1/webhooks/event-types")).json()["event_types"]
        assert {"lead.created", "lead.assigned", "lead.stage_changed", "lead.sla_breached"} <= set(types)

    async def test_brokers_may_not_manage_endpoints(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["lead.created"]}
        )
        assert response.status_code == 403
        assert (await as_broker.get("/v1/webhooks")).status_code == 403


class TestUpdateEndpoint:
    async def test_changes_url_event_types_and_description(self, as_manager: httpx.AsyncClient) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        response = await as_manager.patch(
            f"/v1/webhooks/{created['id']}",
            json={"url": "http://127.0.0.1:9/v2", "event_types": ["*"], "description": "CRM do parceiro"},
        )
        assert response.status_code == 200, response.text
        assert (response.json()["url"], response.json()["event_types"]) == ("http://127.0.0.1:9/v2", ["*"])

    async def test_refuses_an_unsafe_new_url(self, as_manager: httpx.AsyncClient) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        response = await as_manager.patch(f"/v1/webhooks/{created['id']}", json={"url": "http://169.254.169.254/"})
        assert response.status_code == 422

    async def test_re_enabling_clears_the_disabled_state(self, as_manager: httpx.AsyncClient) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        disabled = (await as_manager.patch(f"/v1/webhooks/{created['id']}", json={"enabled": False})).json()
        assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "disabled by a manager")
        enabled = (await as_manager.patch(f"/v1/webhooks/{created['id']}", json={"enabled": True})).json()
        assert (enabled["status"], enabled["disabled_reason"], enabled["failing_since"]) == ("enabled", None, None)

    async def test_a_deleted_endpoint_is_gone(self, as_manager: httpx.AsyncClient) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        assert (await as_manager.delete(f"/v1/webhooks/{created['id']}")).status_code == 204
        assert (await as_manager.get(f"/v1/webhooks/{created['id']}")).status_code == 404
        assert (await as_manager.get("/v1/webhooks")).json()["items"] == []


class TestRotateSecret:
    async def test_both_secrets_verify_during_the_grace_period(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        as_manager: httpx.AsyncClient,
    ) -> None:
        created = await create_endpoint(as_manager, partner.url)
        rotated = await as_manager.post(f"/v1/webhooks/{created['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret.startswith("whsec_")
        assert new_secret != created["secret"]

        partner.secret = new_secret
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            enqueue(session, LeadCreated(tenant_id=tenant.id, payload={"lead_id": "l-1"}))
        await drain(worker)
        [request] = partner.received
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        Webhook(created["secret"]).verify(request.body, request.headers)  # the old secret still verifies
        assert len(partner.verified) == 1  # and so does the new one


class TestSigning:
    def test_matches_the_standard_webhooks_reference_signature(self) -> None:
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        body = b'{"test": 2432232314}'
        headers = headers_for([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    def test_the_library_accepts_what_we_sign_now(self) -> None:
        secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
        body = b'{"type":"lead.created"}'
        headers = headers_for([secret], "msg_1", int(time.time()), body)
        assert Webhook(secret).verify(body, headers) == {"type": "lead.created"}


class TestTenantIsolation:
    async def test_another_tenant_cannot_see_or_change_an_endpoint(
        self, as_manager: httpx.AsyncClient, as_rival: httpx.AsyncClient
    ) -> None:
        created = await create_endpoint(as_manager, "http://127.0.0.1:9/hook")
        path = f"/v1/webhooks/{created['id']}"
        assert (await as_rival.get("/v1/webhooks")).json()["items"] == []
        assert (await as_rival.get(path)).status_code == 404
        assert (await as_rival.patch(path, json={"description": "x"})).status_code == 404
        assert (await as_rival.post(f"{path}/rotate-secret")).status_code == 404
        assert (await as_rival.delete(path)).status_code == 404
        assert (await as_manager.get(path)).json()["description"] == ""

    async def test_another_tenant_cannot_list_see_or_redeliver_deliveries(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        as_manager: httpx.AsyncClient,
        as_rival: httpx.AsyncClient,
    ) -> None:
        created = await create_endpoint(as_manager, partner.url)
        partner.secret = created["secret"]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            enqueue(session, LeadCreated(tenant_id=tenant.id, payload={"lead_id": "l-1"}))
        await drain(worker)
        deliveries = (await as_manager.get(f"/v1/webhooks/{created['id']}/deliveries")).json()["items"]
        [delivery] = deliveries
        path = f"/v1/webhooks/{created['id']}/deliveries"
        assert (await as_rival.get(path)).status_code == 404
        assert (await as_rival.get(f"{path}/{delivery['id']}")).status_code == 404
        assert (await as_rival.post(f"{path}/{delivery['id']}/redeliver")).status_code == 404
        await drain(worker)
        assert len(partner.received) == 1

    async def test_a_delivery_is_only_found_under_its_own_endpoint(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        as_manager: httpx.AsyncClient,
    ) -> None:
        first = await create_endpoint(as_manager, partner.url)
        second = await create_endpoint(as_manager, partner.url, ["lead.assigned"])
        partner.secret = first["secret"]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            enqueue(session, LeadCreated(tenant_id=tenant.id, payload={"lead_id": "l-1"}))
        await drain(worker)
        [delivery] = (await as_manager.get(f"/v1/webhooks/{first['id']}/deliveries")).json()["items"]
        assert (await as_manager.get(f"/v1/webhooks/{second['id']}/deliveries/{delivery['id']}")).status_code == 404
        detail = (await as_manager.get(f"/v1/webhooks/{first['id']}/deliveries/{delivery['id']}")).json()
        assert detail["attempt_log"][0]["status_code"] == 200
        assert detail["body"].startswith('{"type":"lead.created"')
