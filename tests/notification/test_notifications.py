"""Notifications: the bus tells the right people (the broker a lead came to after an SLA, the one who lost it, a
rule's ``notify`` target, the creator of a disabled partner endpoint), each user reads only their own, through the
API and the console, and marks them read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.events import DomainEvent
from leadflow.bus.outbox import enqueue
from leadflow.kit.db import Database
from leadflow.models import Notification, Role, TeamMember, Tenant, User
from leadflow.pipeline.events import LeadSlaBreached, RoutingNotice
from leadflow.webhook.events import WebhookEndpointDisabled
from tests import factories
from tests.console.conftest import logged_in_console
from tests.pipeline import conftest as pipeline_fixtures
from tests.pipeline.conftest import drain

clock = pipeline_fixtures.clock
worker = pipeline_fixtures.worker
LEAD_ID = "0190b3c2-0000-7000-8000-00000000a001"


async def publish(db: Database, tenant: Tenant, event: DomainEvent, worker: Dispatcher) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        enqueue(session, event)
        await session.commit()
    await drain(worker)


async def notices_of(db: Database, tenant: Tenant, user: User) -> list[Notification]:
    async with db.session(factories.owner_scope(tenant)) as session:
        stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at)
        return list((await session.scalars(stmt)).all())


class TestWhoHears:
    async def test_an_sla_breach_tells_the_new_owner_and_the_one_who_lost_the_lead(
        self, db: Database, tenant: Tenant, worker: Dispatcher, broker: User, manager: User
    ) -> None:
        facts = {"lead_id": LEAD_ID, "breached_owner_id": str(broker.id), "next_owner_id": str(manager.id),
                 "escalated_to_manager": True}  # fmt: skip
        await publish(db, tenant, LeadSlaBreached(tenant_id=tenant.id, payload=facts), worker)
        [gained] = await notices_of(db, tenant, manager)
        [lost] = await notices_of(db, tenant, broker)
        assert (gained.kind, gained.params, gained.link) == (
            "sla_handed_to_you", {"lead_id": LEAD_ID, "escalated": True}, f"/app/leads/{LEAD_ID}",
        )  # fmt: skip
        assert lost.kind == "sla_taken_from_you"

    @pytest.mark.parametrize("target", ["gestor@acme.example.com", "manager", "Alto-Padrao"])
    async def test_a_rule_notice_reaches_an_email_a_role_or_a_routing_group(
        self, db: Database, tenant: Tenant, worker: Dispatcher, target: str
    ) -> None:
        gestor = await factories.make_user(db, tenant, role=Role.MANAGER, email="gestor@acme.example.com")
        team = await factories.make_team(db, tenant, "Alto padrão", [gestor])
        async with db.session(factories.owner_scope(tenant)) as session:
            member = await session.scalar(select(TeamMember).where(TeamMember.team_id == team.id))
            assert member is not None
            member.routing_groups = ["alto-padrao"]
            await session.commit()
        event = RoutingNotice(tenant_id=tenant.id, payload={"lead_id": LEAD_ID, "notify": target})
        await publish(db, tenant, event, worker)
        [notice] = await notices_of(db, tenant, gestor)
        assert (notice.kind, notice.params["target"]) == ("rule_notice", target)

    async def test_a_rule_notice_that_names_nobody_writes_nothing(
        self, db: Database, tenant: Tenant, worker: Dispatcher, broker: User
    ) -> None:
        event = RoutingNotice(tenant_id=tenant.id, payload={"lead_id": LEAD_ID, "notify": "ninguem"})
        await publish(db, tenant, event, worker)
        assert await notices_of(db, tenant, broker) == []

    async def test_a_disabled_endpoint_tells_its_creator_else_the_owners(
        self, db: Database, tenant: Tenant, worker: Dispatcher, manager: User, owner: User
    ) -> None:
        facts: dict[str, Any] = {"endpoint_id": str(uuid.uuid4()), "url": "https://parceiro.example.com/hooks",
                                 "reason": "failing since 2026-11-20", "notify_user_id": str(manager.id)}  # fmt: skip
        await publish(db, tenant, WebhookEndpointDisabled(tenant_id=tenant.id, payload=facts), worker)
        await publish(
            db, tenant, WebhookEndpointDisabled(tenant_id=tenant.id, payload={**facts, "notify_user_id": None}), worker
        )
        [to_creator] = await notices_of(db, tenant, manager)
        [to_owner] = await notices_of(db, tenant, owner)
        assert to_creator.params["url"] == "https://parceiro.example.com/hooks"
        assert to_owner.kind == to_creator.kind == "webhook_endpoint_disabled"


async def give(db: Database, tenant: Tenant, user: User, kind: str = "sla_taken_from_you") -> Notification:
    async with db.session(factories.owner_scope(tenant)) as session:
        notice = Notification(user_id=user.id, kind=kind, params={"lead_id": LEAD_ID}, link=f"/app/leads/{LEAD_ID}")
        session.add(notice)
        await session.commit()
    return notice


class TestReadingThem:
    async def test_a_user_lists_only_their_own_with_the_unread_count(
        self, db: Database, tenant: Tenant, as_broker: httpx.AsyncClient, broker: User, manager: User
    ) -> None:
        mine = await give(db, tenant, broker)
        await give(db, tenant, manager)
        listed = (await as_broker.get("/v1/me/notifications")).json()
        assert ([n["id"] for n in listed["items"]], listed["unread"]) == ([str(mine.id)], 1)

    async def test_marking_one_read_and_then_all(
        self, db: Database, tenant: Tenant, as_broker: httpx.AsyncClient, broker: User
    ) -> None:
        first, _ = await give(db, tenant, broker), await give(db, tenant, broker)
        read = await as_broker.post(f"/v1/me/notifications/{first.id}/read")
        assert read.status_code == 200
        assert read.json()["read_at"] is not None
        assert (await as_broker.get("/v1/me/notifications", params={"unread": True})).json()["unread"] == 1
        assert (await as_broker.post("/v1/me/notifications/read")).json() == {"marked": 1}
        assert (await as_broker.get("/v1/me/notifications")).json()["unread"] == 0

    async def test_a_viewer_may_mark_their_own_read(
        self, db: Database, tenant: Tenant, as_viewer: httpx.AsyncClient, viewer: User
    ) -> None:
        notice = await give(db, tenant, viewer)
        assert (await as_viewer.post(f"/v1/me/notifications/{notice.id}/read")).status_code == 200

    async def test_an_api_key_has_none(self, db: Database, tenant: Tenant, app: FastAPI) -> None:
        _, token = await factories.make_key(db, tenant, scopes=["read", "write", "admin"])
        async with factories.client(app, tenant, token=token) as client:
            assert (await client.get("/v1/me/notifications")).status_code == 403

    async def test_another_users_notification_is_not_found(
        self, db: Database, tenant: Tenant, as_broker: httpx.AsyncClient, manager: User
    ) -> None:
        theirs = await give(db, tenant, manager)
        assert (await as_broker.post(f"/v1/me/notifications/{theirs.id}/read")).status_code == 404
        assert (await notices_of(db, tenant, manager))[0].read_at is None

    async def test_another_tenants_user_sees_none_of_them(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, broker: User
    ) -> None:
        mine = await give(db, tenant, broker)
        rival = await factories.make_user(db, other_tenant, role=Role.BROKER)
        async with factories.logged_in(app, other_tenant, rival) as client:
            assert (await client.get("/v1/me/notifications")).json() == {"items": [], "unread": 0}
            assert (await client.post(f"/v1/me/notifications/{mine.id}/read")).status_code == 404


class TestTheConsole:
    async def test_lists_them_in_portuguese_and_opening_one_marks_it_read(
        self, app: FastAPI, db: Database, tenant: Tenant, broker: User
    ) -> None:
        notice = await give(db, tenant, broker)
        async with logged_in_console(app, tenant, broker) as console:
            html = (await console.get("/app/notificacoes")).text
            assert "Um lead foi passado a outro corretor: o prazo da primeira resposta acabou." in html
            assert "1 não lidas" in html
            opened = await console.post(f"/app/notificacoes/{notice.id}/abrir")
            assert (opened.status_code, opened.headers["location"]) == (303, f"/app/leads/{LEAD_ID}")
            assert "0 não lidas" in (await console.get("/app/notificacoes")).text

    async def test_a_link_out_of_the_console_is_never_followed(
        self, app: FastAPI, db: Database, tenant: Tenant, broker: User
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            notice = Notification(user_id=broker.id, kind="rule_notice", params={}, link="https://evil.example.com/")
            session.add(notice)
            await session.commit()
        async with logged_in_console(app, tenant, broker) as console:
            await console.get("/app/notificacoes")
            opened = await console.post(f"/app/notificacoes/{notice.id}/abrir")
        assert opened.headers["location"] == "/app/notificacoes"

    async def test_mark_all_read(self, app: FastAPI, db: Database, tenant: Tenant, broker: User) -> None:
        await give(db, tenant, broker)
        await give(db, tenant, broker)
        async with logged_in_console(app, tenant, broker) as console:
            await console.get("/app/notificacoes")
            assert (await console.post("/app/notificacoes/lidas")).status_code == 303
        assert all(n.read_at is not None for n in await notices_of(db, tenant, broker))
