"""Identify: a Segment identify call naming a known person's e-mail ties the visitor's tracking id (anonymousId) to
that person, so a later conversion from the same browser lands on their lead, whatever contact it brings."""

from __future__ import annotations

from typing import Any

import httpx

from leadflow.bus.dispatcher import Dispatcher
from tests.pipeline.conftest import SalesTeam, convert, drain_now, leads_of, visitor

BROWSER = "trk_01J0BROWSERDACASA0000000"


def _identify(anonymous_id: str, **traits: str) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"identify-{anonymous_id}-{sorted(traits.items())}",
        "anonymousId": anonymous_id,
        "traits": traits,
        "timestamp": "2026-11-23T12:00:00Z",
    }


async def _send_identify(segment: httpx.AsyncClient, dispatcher: Dispatcher, **traits: str) -> None:
    response = await segment.post("/v1/identify", json=_identify(BROWSER, **traits))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    await drain_now(dispatcher)


async def _person(client: httpx.AsyncClient, person_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/people/{person_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestIdentifyCalls:
    async def test_a_later_conversion_from_the_identified_browser_lands_on_the_persons_lead(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        segment: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1))
        [lead] = await leads_of(as_sales_manager)
        await _send_identify(segment, worker, email="Visitante1@Example.com")
        other_contact = {"email": "trabalho@empresa.com.br", "phone": "", "lf_tracking_id": BROWSER}
        await convert(anonymous, worker, visitor(1, **other_contact))
        assert [existing["id"] for existing in await leads_of(as_sales_manager)] == [lead["id"]]
        person = await _person(as_sales_manager, lead["person_id"])
        assert sorted(person["emails"]) == ["trabalho@empresa.com.br", "visitante1@example.com"]

    async def test_the_reconversion_keeps_its_own_attribution(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        segment: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1, utm_source="google", utm_medium="cpc"))
        await _send_identify(segment, worker, phone="(11) 98765-0001")
        later = {"email": "outro@example.com", "phone": "", "lf_tracking_id": BROWSER, "utm_source": "instagram"}
        await convert(anonymous, worker, visitor(2, **later))
        [lead] = await leads_of(as_sales_manager)
        assert (lead["first_touch"]["utm_source"], lead["last_touch"]["utm_source"]) == ("google", "instagram")

    async def test_without_the_identify_call_the_same_browser_is_a_new_person(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1))
        await convert(anonymous, worker, visitor(1, email="trabalho@empresa.com.br", phone="", lf_tracking_id=BROWSER))
        first, second = await leads_of(as_sales_manager)
        assert first["person_id"] != second["person_id"]

    async def test_an_identify_call_for_an_unknown_email_ties_the_browser_to_nobody(
        self,
        as_sales_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
        segment: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
    ) -> None:
        await convert(anonymous, worker, visitor(1))
        await _send_identify(segment, worker, email="ninguem@example.com")
        await convert(anonymous, worker, visitor(2, lf_tracking_id=BROWSER))
        first, second = await leads_of(as_sales_manager)
        assert first["person_id"] != second["person_id"]
        assert (await as_sales_manager.get("/v1/people", params={"q": "ninguem@example.com"})).json()["items"] == []
