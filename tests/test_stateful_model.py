"""A model of two tenants' lead capture, driven by Hypothesis in random order (reliability plan §2, test 38).

The rules are what happens to a real team's installation: sites send events (new, re-sent after a timeout,
malformed), visitors convert through the contact form, the worker runs, dies holding a batch and restarts,
a manager replays the conversions, deletes a lead and restores it, anonymises a person, and retention purges
what is due. After every step the invariants hold for both tenants:

- each accepted ``messageId`` is stored once;
- the database counts (events, rejected events, live and deleted leads) equal the model's;
- no row references a row of the other tenant, and the API of one tenant finds nothing of the other's;
- rejected + accepted = sent (re-sends acknowledged, not stored; purged rejections counted as purged);
- ``audit verify`` passes.

It commits for real, on a database of its own per backend (SQLite file, fresh PostgreSQL database reached as the
app login, row security on). A failing sequence shrinks to a minimal reproduction. ``make soak`` runs it longer.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pydantic import SecretStr
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from leadflow.app import create_app
from leadflow.audit.service import verify_chain
from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKeyKind, Event, Interaction, Lead, LeadAssignment, LeadForm, Person, RejectedEvent, Role
from leadflow.models import Tenant as TenantRow
from leadflow.retention.service import apply_retention
from tests import factories
from tests.bus.conftest import Clock
from tests.capture.factories import basic, track
from tests.conftest import POSTGRES_URL, as_app_login, drop_postgres_database, new_postgres_database

T = TypeVar("T")
LEASE = timedelta(seconds=60)
RETENTION_DUE = timedelta(days=31)  # past the 30-day operational period and soft-delete grace, before the audit's
EXAMPLES = int(os.environ.get("LEADFLOW_STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("LEADFLOW_STATEFUL_STEPS", "14"))
_visitors = itertools.count(1)  # every conversion is a new person: identity stitching must not join two of them


@dataclass
class TenantModel:
    """What one tenant's installation must hold, as the model counts it."""

    row: TenantRow
    token: str  # an owner's access token
    write_key: str
    accepted: list[str] = field(default_factory=list)  # events stored (a form's event id is the server's)
    segment_ids: list[str] = field(default_factory=list)  # the messageIds a site chose, which it may re-send
    sent: int = 0  # distinct submissions (re-sends not counted again)
    rejected: int = 0  # rejected events still stored
    rejected_purged: int = 0
    awaiting_worker: int = 0  # form conversions not yet handled
    live_leads: list[uuid.UUID] = field(default_factory=list)
    deleted_leads: list[uuid.UUID] = field(default_factory=list)
    anonymised: set[uuid.UUID] = field(default_factory=set)  # person ids


@dataclass
class Installation:
    """One backend's database, app and worker, shared by the examples (each example makes its own tenants)."""

    runner: asyncio.Runner
    db: Database
    app: FastAPI
    worker: Dispatcher
    clock: Clock

    def run(self, work: Awaitable[T]) -> T:
        return self.runner.run(work)  # type: ignore[arg-type]


class LeadCapture(RuleBasedStateMachine):
    installation: ClassVar[Installation]

    def __init__(self) -> None:
        super().__init__()
        self.tenants = [self.run(self._tenant(name)) for name in ("aurora", "brisa")]

    def run(self, work: Awaitable[T]) -> T:
        return self.installation.run(work)

    @property
    def db(self) -> Database:
        return self.installation.db

    async def _tenant(self, name: str) -> TenantModel:
        db = self.db
        row = await factories.make_tenant(db, f"{name}-{uuid.uuid4().hex[:10]}", name.title())
        await factories.make_pipeline(db, row)
        owner = await factories.make_user(db, row, role=Role.OWNER, email=f"dona@{row.slug}.example.com")
        brokers = [await factories.make_user(db, row, role=Role.BROKER, name=n) for n in ("Ana", "Bruno")]
        team = await factories.make_team(db, row, "Vendas", brokers)
        async with db.session(factories.owner_scope(row)) as session:
            session.add(LeadForm(key="contato", name="Fale conosco", team_id=team.id, thank_you_url="/obrigado"))
        _, write_key = await factories.make_key(db, row, kind=ApiKeyKind.WRITE)
        tokens = await factories.login(self.installation.app, row, owner.email)
        return TenantModel(row=row, token=tokens["access_token"], write_key=write_key)

    def _api(self, tenant: TenantModel) -> Any:
        return factories.client(self.installation.app, tenant.row, token=tenant.token)

    def _site(self, tenant: TenantModel) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.installation.app)
        base_url = f"http://{factories.host_of(tenant.row)}"
        return httpx.AsyncClient(transport=transport, base_url=base_url, headers=basic(tenant.write_key))

    # Rules: what sites, visitors, the worker and managers do.

    tenant_index = st.integers(min_value=0, max_value=1)

    @rule(t=tenant_index, size=st.integers(min_value=1, max_value=3))
    def send_events(self, t: int, size: int) -> None:
        tenant = self.tenants[t]
        events = [track(messageId=f"m-{uuid.uuid4().hex}") for _ in range(size)]

        async def send() -> httpx.Response:
            async with self._site(tenant) as site:
                return await site.post("/v1/batch", json={"batch": events})

        response = self.run(send())
        assert response.status_code == 200, response.text
        tenant.accepted += [e["messageId"] for e in events]
        tenant.segment_ids += [e["messageId"] for e in events]
        tenant.sent += size

    @precondition(lambda self: any(t.segment_ids for t in self.tenants))
    @rule(data=st.data())
    def resend_after_a_timeout(self, data: st.DataObject) -> None:
        tenant = data.draw(st.sampled_from([t for t in self.tenants if t.segment_ids]))
        message_id = data.draw(st.sampled_from(tenant.segment_ids))

        async def send() -> httpx.Response:
            async with self._site(tenant) as site:
                return await site.post("/v1/track", json=track(messageId=message_id))

        response = self.run(send())
        assert response.status_code == 200, response.text  # acknowledged again, stored once

    @rule(t=tenant_index, broken=st.sampled_from(["no event name", "bad timestamp", "not json"]))
    def send_malformed(self, t: int, broken: str) -> None:
        tenant = self.tenants[t]

        async def send() -> httpx.Response:
            async with self._site(tenant) as site:
                if broken == "not json":
                    return await site.post("/v1/batch", content=b'{"batch": [', headers={"content-type": "text/plain"})
                bad = track(messageId=f"m-{uuid.uuid4().hex}")
                if broken == "no event name":
                    del bad["event"]
                else:
                    bad["timestamp"] = "ontem à tarde"
                return await site.post("/v1/batch", json={"batch": [bad]})

        response = self.run(send())
        if broken == "not json":
            assert response.status_code == 400, response.text
        else:
            assert response.status_code == 200, response.text
            assert len(response.json()["rejected"]) == 1, response.text
        tenant.rejected += 1
        tenant.sent += 1

    @rule(t=tenant_index)
    def a_visitor_converts(self, t: int) -> None:
        tenant = self.tenants[t]
        n = next(_visitors)
        post = {
            "name": f"Visitante {n}",
            "email": f"visitante-{n}-{uuid.uuid4().hex[:8]}@example.com",
            "phone": f"1198{n:07d}",
            "lf_tracking_id": f"trk-{uuid.uuid4().hex}",
            "utm_source": "google",
        }

        async def submit() -> httpx.Response:
            async with factories.client(self.installation.app, tenant.row) as site:
                return await site.post("/v1/forms/contato", json=post)

        response = self.run(submit())
        assert response.status_code == 202, response.text
        tenant.sent += 1
        tenant.accepted.append(f"form:{uuid.uuid4()}")
        tenant.awaiting_worker += 1

    @initialize()
    def a_visitor_of_each_site_has_just_converted(self) -> None:
        """Every example starts with work waiting for the worker, so that a crash has something to lose."""
        for t in range(len(self.tenants)):
            self.a_visitor_converts(t)

    @rule()
    def the_worker_dies_holding_a_batch(self) -> None:
        worker, clock = self.installation.worker, self.installation.clock
        clock.now = max(clock.now, utcnow())  # what was published so far is due
        self.run(worker.claim())  # leased, never settled: the process is gone

    @rule()
    def the_worker_restarts_and_catches_up(self) -> None:
        worker, clock = self.installation.worker, self.installation.clock

        async def catch_up() -> None:
            clock.now = max(clock.now, utcnow()) + LEASE + timedelta(seconds=1)  # the dead worker's leases lapse
            while await worker.dispatch_once():
                pass

        self.run(catch_up())
        for tenant in self.tenants:
            new = set(self.run(self._lead_ids(tenant, deleted=False))) - set(tenant.live_leads)
            assert len(new) == tenant.awaiting_worker  # one lead per conversion, none lost, none twice
            tenant.live_leads += sorted(new)
            tenant.awaiting_worker = 0

    @rule(t=tenant_index, apply=st.booleans())
    def a_manager_replays_the_conversions(self, t: int, apply: bool) -> None:
        async def replay() -> httpx.Response:
            async with self._api(self.tenants[t]) as api:
                return await api.post("/v1/ops/replays", json={"dry_run": not apply})

        response = self.run(replay())
        assert response.status_code == 200, response.text

    @precondition(lambda self: any(t.live_leads for t in self.tenants))
    @rule(data=st.data())
    def a_manager_deletes_a_lead(self, data: st.DataObject) -> None:
        tenant = data.draw(st.sampled_from([t for t in self.tenants if t.live_leads]))
        lead_id = data.draw(st.sampled_from(tenant.live_leads))

        async def delete() -> httpx.Response:
            async with self._api(tenant) as api:
                return await api.delete(f"/v1/leads/{lead_id}")

        assert self.run(delete()).status_code == 204
        tenant.live_leads.remove(lead_id)
        tenant.deleted_leads.append(lead_id)

    @precondition(lambda self: any(t.deleted_leads for t in self.tenants))
    @rule(data=st.data())
    def a_manager_restores_a_lead(self, data: st.DataObject) -> None:
        tenant = data.draw(st.sampled_from([t for t in self.tenants if t.deleted_leads]))
        lead_id = data.draw(st.sampled_from(tenant.deleted_leads))

        async def restore() -> httpx.Response:
            async with self._api(tenant) as api:
                return await api.post(f"/v1/leads/{lead_id}/restore")

        response = self.run(restore())
        assert response.status_code == 200, response.text
        tenant.deleted_leads.remove(lead_id)
        tenant.live_leads.append(lead_id)

    @precondition(lambda self: any(t.live_leads for t in self.tenants))
    @rule(data=st.data())
    def a_manager_anonymises_a_person(self, data: st.DataObject) -> None:
        tenant = data.draw(st.sampled_from([t for t in self.tenants if t.live_leads]))
        lead_id = data.draw(st.sampled_from(tenant.live_leads))

        async def anonymise() -> tuple[int, dict[str, Any]]:
            async with self._api(tenant) as api:
                person_id = (await api.get(f"/v1/leads/{lead_id}")).json()["person_id"]
                response = await api.post(f"/v1/people/{person_id}/anonymise")
                assert response.status_code == 200, response.text
                person = (await api.get(f"/v1/people/{person_id}")).json()
            return person_id, person

        person_id, person = self.run(anonymise())
        assert (person["emails"], person["phones"]) == ([], []), person
        tenant.anonymised.add(uuid.UUID(str(person_id)))

    @rule()
    def retention_purges_what_is_due(self) -> None:
        async def purge(tenant: TenantModel) -> None:
            scope = factories.owner_scope(tenant.row)
            async with self.db.session(scope) as session:
                await apply_retention(session, scope, now=utcnow() + RETENTION_DUE, storage=None)

        for tenant in self.tenants:
            self.run(purge(tenant))
            tenant.rejected_purged += tenant.rejected
            tenant.rejected = 0
            tenant.deleted_leads = []

    @precondition(lambda self: any(t.live_leads or t.deleted_leads for t in self.tenants))
    @rule(data=st.data())
    def the_other_tenant_probes_a_lead(self, data: st.DataObject) -> None:
        victim = data.draw(st.sampled_from([t for t in self.tenants if t.live_leads or t.deleted_leads]))
        prober = self.tenants[1 - self.tenants.index(victim)]
        lead_id = data.draw(st.sampled_from(victim.live_leads + victim.deleted_leads))

        async def probe() -> list[int]:
            async with self._api(prober) as api:
                return [
                    (await api.get(f"/v1/leads/{lead_id}")).status_code,
                    (await api.delete(f"/v1/leads/{lead_id}")).status_code,
                    (await api.post(f"/v1/leads/{lead_id}/restore")).status_code,
                ]

        assert self.run(probe()) == [404, 404, 404]

    def teardown(self) -> None:
        """However the example ended (a crash last, say), a restarted worker handles every conversion once."""
        self.the_worker_restarts_and_catches_up()
        self.leads_are_as_the_model_says()

    # Invariants: checked after every step, for both tenants.

    @invariant()
    def each_accepted_message_is_stored_once(self) -> None:
        for tenant in self.tenants:
            stored, distinct = self.run(self._event_counts(tenant))
            assert stored == distinct == len(tenant.accepted)

    @invariant()
    def rejected_plus_accepted_is_sent(self) -> None:
        for tenant in self.tenants:
            rejected = self.run(self._count(tenant, RejectedEvent.id))
            assert rejected == tenant.rejected
            assert len(tenant.accepted) + tenant.rejected + tenant.rejected_purged == tenant.sent

    @invariant()
    def leads_are_as_the_model_says(self) -> None:
        for tenant in self.tenants:
            assert sorted(self.run(self._lead_ids(tenant, deleted=False))) == sorted(tenant.live_leads)
            assert sorted(self.run(self._lead_ids(tenant, deleted=True))) == sorted(tenant.deleted_leads)

    @invariant()
    def no_row_references_the_other_tenant(self) -> None:
        assert self.run(self._crossings()) == 0

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        for tenant in self.tenants:
            report = self.run(self._verify(tenant))
            assert report.broken is None, report.broken

    # Reads straight from the database, through the same tenant scope the app uses.

    async def _event_counts(self, tenant: TenantModel) -> tuple[int, int]:
        async with self.db.session(Scope.for_tenant(tenant.row.id)) as session:
            stmt = select(func.count(Event.id), func.count(func.distinct(Event.message_id)))
            stored, distinct = (await session.execute(stmt)).one()
        return int(stored), int(distinct)

    async def _count(self, tenant: TenantModel, column: Any) -> int:
        async with self.db.session(Scope.for_tenant(tenant.row.id)) as session:
            return int((await session.execute(select(func.count(column)))).scalar_one())

    async def _lead_ids(self, tenant: TenantModel, *, deleted: bool) -> list[uuid.UUID]:
        condition = Lead.deleted_at.is_not(None) if deleted else Lead.deleted_at.is_(None)
        async with self.db.session(Scope.for_tenant(tenant.row.id)) as session:
            stmt = select(Lead.id).where(condition).execution_options(include_deleted=True)
            return list((await session.scalars(stmt)).all())

    async def _crossings(self) -> int:
        """Rows whose reference points into another tenant, over the whole database (system scope)."""
        person, lead = aliased(Person), aliased(Lead)
        checks: list[tuple[Select[tuple[int]], ColumnElement[bool]]] = [
            (_joined(Lead, person, Lead.person_id == person.id), Lead.tenant_id != person.tenant_id),
            (
                _joined(LeadAssignment, lead, LeadAssignment.lead_id == lead.id),
                LeadAssignment.tenant_id != lead.tenant_id,
            ),
            (_joined(Interaction, lead, Interaction.lead_id == lead.id), Interaction.tenant_id != lead.tenant_id),
        ]
        total = 0
        async with self.db.session(Scope.system()) as session:
            for stmt, crossing in checks:
                stmt = stmt.where(crossing).execution_options(include_deleted=True)
                total += int((await session.execute(stmt)).scalar_one())
        return total

    async def _verify(self, tenant: TenantModel) -> Any:
        scope = Scope.for_tenant(tenant.row.id)
        async with self.db.session(scope) as session:
            return await verify_chain(session, scope)


def _joined(model: Any, other: Any, on: ColumnElement[bool]) -> Select[tuple[int]]:
    return select(func.count()).select_from(model).join(other, on)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own (committed rows must not reach the other specifications' dispatchers),
    as the app reaches it."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("set LEADFLOW_TEST_POSTGRES_URL to run the PostgreSQL half of the matrix")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/model.db"
        upgrade(url)
        yield url
        return
    owner_url = new_postgres_database()
    upgrade(owner_url, app_url=as_app_login(owner_url))
    yield as_app_login(owner_url)
    drop_postgres_database(owner_url)


def _installed(url: str, data_dir: Path, runner: asyncio.Runner) -> Installation:
    settings_ = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=data_dir,
        secret_key=SecretStr("stateful-signing-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant=None,
        redis_url=None,
        log_format="json",
    )
    db = runner.run(_database(url))
    discover_handlers()
    clock = Clock()
    worker = Dispatcher(db, registry, lease=LEASE, retry=RetryPolicy(max_attempts=3), clock=clock)
    return Installation(runner, db, create_app(settings_, database=db), worker, clock)


async def _database(url: str) -> Database:
    return Database(create_engine(url))


def _run_the_model(url: str, data_dir: Path) -> None:
    # An event loop of its own, in a thread of its own: the suite's loop belongs to pytest-asyncio.
    with asyncio.Runner() as runner:
        installation = _installed(url, data_dir, runner)
        LeadCapture.installation = installation
        try:
            run_state_machine_as_test(
                LeadCapture,
                settings=settings(
                    max_examples=EXAMPLES,
                    stateful_step_count=STEPS,
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                    database=None,
                ),
            )
        finally:
            runner.run(installation.db.engine.dispose())


def test_two_tenants_hold_their_invariants_whatever_happens_in_whatever_order(
    database_url: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(_run_the_model, database_url, tmp_path).result()
