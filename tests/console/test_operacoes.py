"""Operações: queues, dead letters with retry, rejected input, the replay dry run, the health of every
integration and the partner-webhook deliveries with redelivery, for managers only."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import (
    AttemptTrigger,
    ConnectionStatus,
    CrmConnection,
    DeliveryStatus,
    EndpointStatus,
    IntegrationConnection,
    OutboxMessage,
    OutboxStatus,
    Role,
    Tenant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests import factories
from tests.console.conftest import Console, logged_in_console
from tests.ops.test_dead_letters import _message
from tests.sync import conftest as sync_fixtures
from tests.sync import test_salesforce as sync_salesforce
from tests.sync.fake_salesforce import FakeSalesforce

pytestmark = pytest.mark.asyncio
fake_org = sync_fixtures.salesforce  # a fake Salesforce org on loopback (the sync tests' fixture)


@pytest.fixture
async def dead(db: Database, tenant: Tenant) -> OutboxMessage:
    return await _message(db, tenant, status=OutboxStatus.DEAD, name="lead.assigned")


class TestOperacoes:
    async def test_shows_the_queues_and_the_dead_letter_with_its_error(
        self, manager_console: Console, dead: OutboxMessage
    ) -> None:
        html = (await manager_console.get("/app/operacoes")).text
        assert "lead.assigned" in html
        assert "handler: TimeoutError()" in html
        assert f'action="/app/operacoes/dead-letters/{dead.id}/retry"' in html

    async def test_retrying_a_dead_letter_puts_it_back_in_the_queue(
        self, manager_console: Console, dead: OutboxMessage
    ) -> None:
        await manager_console.get("/app/operacoes")
        response = await manager_console.post(f"/app/operacoes/dead-letters/{dead.id}/retry")
        assert response.status_code == 303
        html = (await manager_console.get("/app/operacoes")).text
        assert "handler: TimeoutError()" not in html

    async def test_a_retry_without_csrf_is_refused(self, manager_console: Console, dead: OutboxMessage) -> None:
        await manager_console.get("/app/operacoes")
        assert (await manager_console.post(f"/app/operacoes/dead-letters/{dead.id}/retry", csrf="")).status_code == 403
        assert "handler: TimeoutError()" in (await manager_console.get("/app/operacoes")).text

    async def test_a_replay_dry_run_reports_without_changing_anything(self, manager_console: Console) -> None:
        await manager_console.get("/app/operacoes")
        response = await manager_console.post("/app/operacoes/replay", {"received_from": "2026-01-01"})
        assert response.status_code == 200
        assert 'id="replay-report"' in response.text
        assert "Simulação" in response.text

    async def test_is_refused_to_a_broker(self, broker_console: Console) -> None:
        assert (await broker_console.get("/app/operacoes")).status_code == 403


class TestIntegrationHealth:
    async def test_shows_each_connection_with_its_state_last_error_and_backlog(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        now = utcnow()
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            session.add_all(
                [
                    IntegrationConnection(
                        provider="whatsapp",
                        key="wa",
                        name="WhatsApp da loja",
                        credentials=b"sealed",
                        last_success_at=now - timedelta(minutes=5),
                    ),
                    IntegrationConnection(
                        provider="zap",
                        key="zap",
                        name="Grupo ZAP",
                        credentials=b"sealed",
                        status=ConnectionStatus.FAILING,
                        last_error_at=now,
                        last_error="401: invalid Basic auth",
                    ),
                    CrmConnection(
                        provider="hubspot",
                        credentials=b"sealed",
                        last_success_at=now - timedelta(hours=1),
                        last_error_at=now,
                        last_error="HubSpot answered 401: token revoked",
                    ),
                ]
            )
        await _message(db, tenant, status=OutboxStatus.PENDING, name="lead.created")  # a change not yet pushed

        html = (await manager_console.get("/app/operacoes")).text

        rows = _rows(html, 'id="integration-health"')
        assert 'data-health="ok"' in rows["WhatsApp da loja"]
        assert 'data-health="failing"' in rows["Grupo ZAP"]
        assert "401: invalid Basic auth" in rows["Grupo ZAP"]
        assert 'data-health="failing"' in rows["hubspot"]
        assert "token revoked" in rows["hubspot"]
        assert '<td class="num">1</td>' in rows["hubspot"]  # the pending lead change is the CRM's backlog
        assert "com falha" in html
        assert "funcionando" in html

    async def test_says_so_when_nothing_is_connected(self, manager_console: Console) -> None:
        assert "Nenhuma integração conectada." in (await manager_console.get("/app/operacoes")).text


class TestTestingAConnection:
    """The "Testar" button asks the provider, through the same services as the API's test actions."""

    async def test_a_crm_that_answers_is_shown_working(
        self, manager_console: Console, as_manager: httpx.AsyncClient, settings: Settings, fake_org: FakeSalesforce
    ) -> None:
        settings.webhooks_allow_loopback = True  # the fake org listens on 127.0.0.1
        await sync_salesforce.connect(as_manager, fake_org)
        await manager_console.get("/app/operacoes")
        response = await manager_console.post("/app/operacoes/crm/salesforce/testar")
        assert (response.status_code, response.headers["location"]) == (303, "/app/operacoes?teste=ok#integrations")
        html = (await manager_console.get(response.headers["location"])).text
        assert "A conexão está funcionando." in html
        assert 'data-health="ok"' in _rows(html, 'id="integration-health"')["salesforce"]
        assert any(r.path.endswith("/sobjects/Lead/describe") for r in fake_org.server.received)

    async def test_a_crm_that_refuses_shows_the_reason_as_its_last_error(
        self, manager_console: Console, as_manager: httpx.AsyncClient, settings: Settings, fake_org: FakeSalesforce
    ) -> None:
        settings.webhooks_allow_loopback = True
        await sync_salesforce.connect(as_manager, fake_org)
        fake_org.token = "00D5g000004Wxyz!rotated"
        await manager_console.get("/app/operacoes")
        response = await manager_console.post("/app/operacoes/crm/salesforce/testar")
        html = (await manager_console.get(response.headers["location"])).text
        assert "A conexão falhou" in html
        row = _rows(html, 'id="integration-health"')["salesforce"]
        assert 'data-health="failing"' in row
        assert "INVALID_SESSION_ID" in row

    async def test_only_channels_that_can_be_checked_have_the_button(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            session.add_all(
                [
                    IntegrationConnection(provider="whatsapp", key="wa", name="WhatsApp da loja", credentials=b"x"),
                    IntegrationConnection(provider="zap", key="zap", name="Grupo ZAP", credentials=b"x"),
                ]
            )
        rows = _rows((await manager_console.get("/app/operacoes")).text, 'id="integration-health"')
        assert "/testar" in rows["WhatsApp da loja"]
        assert "/testar" not in rows["Grupo ZAP"]  # the portal calls us: its deliveries are its health

    async def test_a_broker_may_not_and_an_unknown_crm_is_not_found(
        self, manager_console: Console, broker_console: Console
    ) -> None:
        await broker_console.get("/app")
        assert (await broker_console.post("/app/operacoes/crm/salesforce/testar")).status_code == 403
        await manager_console.get("/app/operacoes")
        assert (await manager_console.post("/app/operacoes/crm/salesforce/testar")).status_code == 404


def _rows(html: str, table: str) -> dict[str, str]:
    """Each row of a table by the name its header cell starts with."""
    body = html.split(table, 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in body.split("<tr")[2:]:
        name = row.split('<th scope="row">', 1)[1].split(" <span", 1)[0]
        rows[name] = row
    return rows


async def _delivery(
    db: Database,
    tenant: Tenant,
    *,
    url: str,
    status: DeliveryStatus,
    endpoint_status: EndpointStatus = EndpointStatus.ENABLED,
) -> WebhookDelivery:
    now = utcnow()
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        endpoint = WebhookEndpoint(
            id=new_id(), url=url, event_types=["lead.created"], secret=b"sealed", status=endpoint_status
        )
        delivery = WebhookDelivery(
            id=new_id(),
            endpoint_id=endpoint.id,
            event_id=new_id(),
            event_type="lead.created",
            body="{}",
            status=status,
            attempts=1,
            last_status_code=500 if status is DeliveryStatus.FAILED else 200,
        )
        attempt = WebhookAttempt(
            delivery_id=delivery.id,
            number=1,
            trigger=AttemptTrigger.SCHEDULED,
            started_at=now,
            duration_ms=87,
            status_code=delivery.last_status_code,
            response_excerpt="upstream exploded" if status is DeliveryStatus.FAILED else "ok",
        )
        session.add(endpoint)
        await session.flush()
        session.add(delivery)
        await session.flush()
        session.add(attempt)
    return delivery


class TestWebhookDeliveries:
    async def test_lists_deliveries_of_every_endpoint_with_their_attempts(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        done = await _delivery(db, tenant, url="https://bi.parceiro.com.br/hook", status=DeliveryStatus.DELIVERED)
        html = (await manager_console.get("/app/operacoes")).text
        assert f'data-delivery-id="{failed.id}"' in html
        assert f'data-delivery-id="{done.id}"' in html
        assert "https://crm.parceiro.com.br/hook" in html
        assert "upstream exploded" in html  # the attempt's response excerpt
        assert "HTTP 500" in html

    async def test_filters_by_status(self, manager_console: Console, db: Database, tenant: Tenant) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        done = await _delivery(db, tenant, url="https://bi.parceiro.com.br/hook", status=DeliveryStatus.DELIVERED)
        html = (await manager_console.get("/app/operacoes?delivery_status=failed")).text
        assert f'data-delivery-id="{failed.id}"' in html
        assert f'data-delivery-id="{done.id}"' not in html

    async def test_filters_by_endpoint(self, manager_console: Console, db: Database, tenant: Tenant) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        done = await _delivery(db, tenant, url="https://bi.parceiro.com.br/hook", status=DeliveryStatus.DELIVERED)
        html = (await manager_console.get(f"/app/operacoes?endpoint={done.endpoint_id}")).text
        assert f'data-delivery-id="{done.id}"' in html
        assert f'data-delivery-id="{failed.id}"' not in html

    async def test_a_bad_filter_is_a_clear_422(self, manager_console: Console) -> None:
        response = await manager_console.get("/app/operacoes?delivery_status=lost")
        assert response.status_code == 422
        assert "Filtro inválido" in response.text

    async def test_redelivering_queues_a_manual_attempt(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        await manager_console.get("/app/operacoes")
        response = await manager_console.post(
            f"/app/operacoes/webhooks/{failed.endpoint_id}/deliveries/{failed.id}/redeliver"
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/app/operacoes?redelivered={failed.id}#deliveries"
        assert [m.payload for m in await _due(db, tenant)] == [{"delivery_id": str(failed.id), "trigger": "manual"}]
        assert 'id="redelivered"' in (await manager_console.get(response.headers["location"])).text

    async def test_a_redelivery_without_csrf_is_refused(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        await manager_console.get("/app/operacoes")
        path = f"/app/operacoes/webhooks/{failed.endpoint_id}/deliveries/{failed.id}/redeliver"
        assert (await manager_console.post(path, csrf="")).status_code == 403
        assert await _due(db, tenant) == []

    async def test_a_disabled_endpoint_refuses_redelivery_in_pt_br(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        failed = await _delivery(
            db,
            tenant,
            url="https://crm.parceiro.com.br/hook",
            status=DeliveryStatus.FAILED,
            endpoint_status=EndpointStatus.DISABLED,
        )
        await manager_console.get("/app/operacoes")
        path = f"/app/operacoes/webhooks/{failed.endpoint_id}/deliveries/{failed.id}/redeliver"
        response = await manager_console.post(path)
        assert response.status_code == 409
        assert "Ative o endpoint antes de reenviar para ele." in response.text
        assert await _due(db, tenant) == []

    async def test_a_broker_may_not_redeliver(self, broker_console: Console, db: Database, tenant: Tenant) -> None:
        failed = await _delivery(db, tenant, url="https://crm.parceiro.com.br/hook", status=DeliveryStatus.FAILED)
        await broker_console.get("/app")
        path = f"/app/operacoes/webhooks/{failed.endpoint_id}/deliveries/{failed.id}/redeliver"
        assert (await broker_console.post(path)).status_code == 403
        assert await _due(db, tenant) == []

    async def test_another_tenants_deliveries_are_neither_shown_nor_redelivered(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await _delivery(db, other_tenant, url="https://rival.com.br/hook", status=DeliveryStatus.FAILED)
        owner = await factories.make_user(db, tenant, role=Role.OWNER, email="dona@acme.example.com")
        async with logged_in_console(app, tenant, owner) as console:
            html = (await console.get("/app/operacoes")).text
            assert "rival.com.br" not in html
            path = f"/app/operacoes/webhooks/{theirs.endpoint_id}/deliveries/{theirs.id}/redeliver"
            assert (await console.post(path)).status_code == 404
        assert await _due(db, other_tenant) == []


async def _due(db: Database, tenant: Tenant) -> list[OutboxMessage]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_name == "webhook.delivery_due")
        return list((await session.execute(stmt)).scalars())
