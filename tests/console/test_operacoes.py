"""Operações: queues, dead letters with retry, rejected input and the replay dry run, for managers only."""

from __future__ import annotations

import pytest

from leadflow.kit.db import Database
from leadflow.models import OutboxMessage, OutboxStatus, Tenant
from tests.console.conftest import Console
from tests.ops.test_dead_letters import _message

pytestmark = pytest.mark.asyncio


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
