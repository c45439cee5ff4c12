"""``leadflow replay``: the same replay as the API, for one tenant from the command line, printing its report as
JSON; a dry run unless ``--apply``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.registry import discover_handlers, registry
from leadflow.cli import cli, replay_tenant
from leadflow.config import Settings, get_settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.time import utcnow
from leadflow.models import LeadForm, Role, Tenant
from leadflow.pipeline.rules import Rule
from leadflow.pipeline.rulesets import save_rule_set
from leadflow.pipeline.schemas import ReplayRequest
from leadflow.tenant.service import get_tenant_by_slug
from tests import factories
from tests.pipeline.conftest import SalesTeam, convert, leads_of, visitor

runner = CliRunner()
TAG_GOOGLE = {
    "id": "google-ads",
    "name": "Leads do Google",
    "when": {"field": "event.utm_source", "op": "eq", "value": "google"},
    "actions": [{"tag": "google-ads"}, {"score": 30}],
}


async def _save_tag_rule(db: Database, tenant: Tenant) -> None:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        await save_rule_set(session, scope, rules=[Rule.model_validate(TAG_GOOGLE)], note=None)


class TestTheReplayOfATenant:
    """``replay_tenant`` is what the command runs, here on the test databases."""

    async def test_a_dry_run_reports_and_changes_nothing(
        self,
        db: Database,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, utm_source="google"), visitor(2, utm_source="facebook"))
        before = await leads_of(as_sales_manager)
        await _save_tag_rule(db, tenant)
        report = await replay_tenant(db, tenant=tenant.slug, request=ReplayRequest())
        assert (report.dry_run, report.rule_set_version, report.events_considered) == (True, 1, 2)
        [change] = report.changes
        assert (str(change.lead_id), change.changes["score"]) == (before[0]["id"], {"from": 0, "to": 30})
        assert await leads_of(as_sales_manager) == before

    async def test_applied_it_changes_the_leads(
        self,
        db: Database,
        tenant: Tenant,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, utm_source="google"))
        await _save_tag_rule(db, tenant)
        report = await replay_tenant(db, tenant=tenant.slug, request=ReplayRequest(dry_run=False))
        assert (report.dry_run, report.leads_changed) == (False, 1)
        [lead] = await leads_of(as_sales_manager)
        assert (lead["tags"], lead["score"]) == (["google-ads"], 30)

    async def test_the_time_range_selects_the_events(
        self,
        db: Database,
        tenant: Tenant,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, utm_source="google"))
        await _save_tag_rule(db, tenant)
        later = ReplayRequest(received_from=utcnow() + timedelta(minutes=1))
        assert (await replay_tenant(db, tenant=tenant.slug, request=later)).events_considered == 0
        earlier = ReplayRequest(received_to=utcnow() - timedelta(hours=1))
        assert (await replay_tenant(db, tenant=tenant.slug, request=earlier)).events_considered == 0


# The command itself, against a database migrated by `leadflow migrate` in a temporary directory.


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LEADFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    created = runner.invoke(cli, ["tenants", "create", "nova", "Nova Imóveis"])
    assert created.exit_code == 0, created.output
    yield tmp_path
    get_settings.cache_clear()


async def _seed_google_lead(settings: Settings) -> None:
    """A sales team, the contact form, one Google lead routed with no rules, then a rule that would tag it."""
    from leadflow.app import create_app
    from leadflow.kit.scope import Scope

    db = Database(create_engine(settings.effective_database_url))
    try:
        async with db.session(Scope.system()) as session:
            tenant = await get_tenant_by_slug(session, "nova")
        brokers = [await factories.make_user(db, tenant, role=Role.BROKER) for _ in range(2)]
        team = await factories.make_team(db, tenant, "Vendas", brokers)
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(LeadForm(key="contato", name="Fale conosco", team_id=team.id))
        discover_handlers()
        async with factories.client(create_app(settings, database=db), tenant) as client:
            await convert(client, Dispatcher(db, registry), visitor(1, utm_source="google"))
        await _save_tag_rule(db, tenant)
    finally:
        await db.dispose()


def _report(*words: str) -> dict[str, Any]:
    result = runner.invoke(cli, ["replay", "--tenant", "nova", *words])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


class TestTheCommand:
    def test_a_dry_run_prints_the_would_be_changes_and_changes_nothing(self, data_dir: Path) -> None:
        asyncio.run(_seed_google_lead(get_settings()))
        report = _report()
        assert (report["dry_run"], report["rule_set_version"], report["leads_changed"]) == (True, 1, 1)
        assert report["changes"][0]["changes"]["tags"] == {"add": ["google-ads"], "remove": []}
        assert _report()["leads_changed"] == 1

    def test_apply_changes_the_leads_once(self, data_dir: Path) -> None:
        asyncio.run(_seed_google_lead(get_settings()))
        applied = _report("--apply")
        assert (applied["dry_run"], applied["leads_changed"]) == (False, 1)
        assert _report("--apply")["leads_changed"] == 0

    def test_the_filters_reach_the_replay(self, data_dir: Path) -> None:
        asyncio.run(_seed_google_lead(get_settings()))
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        assert _report("--from", tomorrow)["events_considered"] == 0
        assert _report("--to", tomorrow, "--source", "form")["events_considered"] == 1
        assert _report("--source", "segment")["events_considered"] == 0

    def test_a_moment_that_is_not_iso_8601_is_refused(self, data_dir: Path) -> None:
        result = runner.invoke(cli, ["replay", "--tenant", "nova", "--from", "ontem"])
        assert result.exit_code == 2
        assert "ISO 8601" in result.output

    def test_an_unknown_tenant_fails_clearly(self, data_dir: Path) -> None:
        result = runner.invoke(cli, ["replay", "--tenant", "nao-existe"])
        assert result.exit_code == 1
        assert "nao-existe" in result.output
