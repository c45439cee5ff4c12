"""A partner reached through the fault proxy (plan §2, test 35, outputs side): a cut link (blackhole, reset) fails
the attempt within the attempt's budget, logs it and schedules the retry; nothing is lost or dead-lettered early;
once the link passes again the scheduled attempt delivers, and the partner holds one record per event; a slow
link within the budget only slows the delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import DeliveryStatus, Tenant
from tests.bus.conftest import Clock
from tests.crash.faultproxy import FaultProxy, Mode, fault_proxy
from tests.webhook.conftest import Partner, create_endpoint, drain
from tests.webhook.test_delivery import advance_and_drain, attempts_of, deliveries_of, publish_lead_created


@pytest.fixture
def link(partner: Partner) -> Iterator[FaultProxy]:
    host, port = partner.server.url.removeprefix("http://").split(":")
    with fault_proxy(host, int(port)) as proxy:
        yield proxy


@pytest.fixture
async def endpoint(as_manager: httpx.AsyncClient, partner: Partner, link: FaultProxy) -> dict[str, Any]:
    created = await create_endpoint(as_manager, f"http://127.0.0.1:{link.port}/hooks/leadflow", ["lead.created"])
    partner.secret = created["secret"]
    return created


class TestAPartnerBehindTheFaultProxy:
    # A reset link accepts the connection, then drops it. Whether the RST lands while the client is still setting
    # the connection up ("connect") or once the request is on its way ("protocol") is a matter of scheduling; either
    # way it is a link failure, never an HTTP answer.
    @pytest.mark.parametrize(
        ("mode", "kinds"), [("blackhole", {"timeout"}), ("reset", {"connect", "protocol"})], ids=["blackhole", "reset"]
    )
    async def test_a_cut_link_fails_the_attempt_and_the_retry_delivers_once_it_passes(
        self,
        mode: Mode,
        kinds: set[str],
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        clock: Clock,
        partner: Partner,
        link: FaultProxy,
        endpoint: dict[str, Any],
    ) -> None:
        link.set(mode)
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        [cut] = await attempts_of(db, tenant)
        assert delivery.status == DeliveryStatus.PENDING
        assert cut.error_kind in kinds
        assert cut.duration_ms < 5_000  # the settings give an attempt 2 s
        assert partner.verified == []

        link.set("pass")
        await advance_and_drain(worker, clock, timedelta(seconds=7))

        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED
        assert len(partner.verified) == 1  # one record at the partner
        assert [a.error_kind for a in await attempts_of(db, tenant)] == [cut.error_kind, None]

    async def test_a_slow_link_within_the_budget_only_slows_the_delivery(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        partner: Partner,
        link: FaultProxy,
        endpoint: dict[str, Any],
    ) -> None:
        link.set("latency", latency=0.2)
        await publish_lead_created(db, tenant)
        await drain(worker)
        [delivery] = await deliveries_of(db, tenant)
        assert delivery.status == DeliveryStatus.DELIVERED
        assert len(partner.verified) == 1
