"""WhatsApp Cloud API deliveries through real HTTP requests to the app, processed by the real bus handlers."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Event, FailureType, Interaction, LeadConversion, Tenant
from tests.capture.factories import opened_of, rejected_of
from tests.integrations.conftest import PHONE_NUMBER_ID, VERIFY_TOKEN, deliver, drain_now, text_message
from tests.pipeline.conftest import SalesTeam, leads_of


async def rows(db: Database, tenant: Tenant, model: Any) -> list[Any]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(model))).all())


class TestSignedMessageBecomesRoutedLead:
    async def test_a_validly_signed_message_from_an_unknown_number_creates_a_lead_routed_to_a_broker(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        sales: SalesTeam,
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        response = await deliver(anonymous, text_message(text="Quero saber do apartamento de 2 quartos"))
        assert response.status_code == 200, response.text
        await drain_now(worker)

        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] in {str(b.id) for b in sales.brokers}
        assert lead["source"] == "whatsapp"
        [interaction] = await rows(db, tenant, Interaction)
        assert interaction.body == "Quero saber do apartamento de 2 quartos"
        assert interaction.direction == "inbound"
        assert interaction.channel == "whatsapp"
        assert interaction.external_id == "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA0"

    async def test_the_delivery_is_kept_raw_in_the_event_log_before_any_processing(
        self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any], db: Database, tenant: Tenant
    ) -> None:
        raw = json.dumps(text_message(), separators=(",", ":")).encode()
        await deliver(anonymous, raw)
        [event] = await rows(db, tenant, Event)
        assert event.source == "whatsapp"
        assert "Maria Silva" not in str(event.payload)  # sealed at rest under the delivery's key
        [opened] = await opened_of(db, tenant)
        assert opened.payload["raw"] == raw.decode()
        assert event.message_id == "wa:msg:wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA0"

    async def test_a_second_message_from_the_same_person_lands_on_the_same_lead(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        await deliver(anonymous, text_message(wamid="wamid.A", text="Oi"))
        await drain_now(worker)
        await deliver(anonymous, text_message(wamid="wamid.B", text="Ainda está disponível?"))
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1
        assert sorted(i.body for i in await rows(db, tenant, Interaction)) == ["Ainda está disponível?", "Oi"]

    async def test_a_number_without_the_ninth_digit_meets_the_person_who_typed_it_with_it(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        await deliver(anonymous, text_message(wamid="wamid.A", wa_id="5511987654321"))
        await drain_now(worker)
        await deliver(anonymous, text_message(wamid="wamid.B", wa_id="551187654321"))
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1


class TestOtherNumbers:
    async def test_a_message_to_another_number_of_the_same_app_is_not_taken(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        body = text_message()
        body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"
        assert (await deliver(anonymous, body)).status_code == 200  # stored raw all the same
        await drain_now(worker)
        assert await leads_of(as_sales_manager) == []


class TestBadSignature:
    async def test_the_same_body_with_a_bad_signature_is_401_and_kept_as_rejected(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        raw = json.dumps(text_message()).encode()
        response = await deliver(anonymous, raw, secret="not-the-app-secret")
        assert response.status_code == 401
        await drain_now(worker)

        [rejected] = await rejected_of(db, tenant)
        assert rejected.source == "whatsapp"
        assert rejected.failure_type is FailureType.AUTHENTICATION
        assert rejected.raw == raw.decode()
        assert "does not match" in rejected.failure[0]["message"]
        assert await rows(db, tenant, Event) == []
        assert await leads_of(as_sales_manager) == []

    async def test_a_delivery_without_signature_is_401(
        self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any]
    ) -> None:
        response = await anonymous.post("/hooks/whatsapp/acme-whatsapp", json=text_message())
        assert response.status_code == 401

    async def test_a_body_changed_after_signing_is_refused(
        self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any]
    ) -> None:
        from leadflow.integrations.metahooks import signature_of

        raw = json.dumps(text_message()).encode()
        headers = {"x-hub-signature-256": signature_of("test-app-secret", raw), "content-type": "application/json"}
        response = await anonymous.post("/hooks/whatsapp/acme-whatsapp", content=raw + b" ", headers=headers)
        assert response.status_code == 401


class TestIdempotency:
    async def test_a_repeated_delivery_changes_nothing(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        first = await deliver(anonymous, text_message())
        second = await deliver(anonymous, text_message())
        assert first.json()["duplicate"] is False
        assert second.json()["duplicate"] is True
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1
        assert len(await rows(db, tenant, Event)) == 1
        assert len(await rows(db, tenant, Interaction)) == 1


class TestHandshake:
    async def test_meta_url_check_echoes_the_challenge_for_our_verify_token(
        self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any]
    ) -> None:
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        response = await anonymous.get("/hooks/whatsapp/acme-whatsapp", params=params)
        assert response.status_code == 200
        assert response.text == "1158201444"

    async def test_a_wrong_verify_token_is_403(self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any]) -> None:
        params = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"}
        response = await anonymous.get("/hooks/whatsapp/acme-whatsapp", params=params)
        assert response.status_code == 403


class TestClickToWhatsApp:
    async def test_a_referral_becomes_the_lead_attribution_touch(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        referral = {
            "source_url": "https://fb.me/3xAmPlE",
            "source_id": "120210000000000001",
            "source_type": "ad",
            "headline": "Residencial Aurora — 2 quartos",
            "body": "Lançamento na Vila Mariana",
            "media_type": "image",
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
        }
        await deliver(anonymous, text_message(referral=referral))
        await drain_now(worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["channel"] == "WhatsApp Ads"
        assert lead["first_touch"]["ctwa_clid"] == "ARAkLkA8rmlFeiCktEJQ"
        assert lead["first_touch"]["ctwa_source_url"] == "https://fb.me/3xAmPlE"
        [conversion] = await rows(db, tenant, LeadConversion)
        assert conversion.attribution["referral"]["ctwa_headline"] == "Residencial Aurora — 2 quartos"


class TestMessageKinds:
    async def test_location_and_interactive_replies_are_readable_on_the_timeline(
        self,
        anonymous: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        location = {"type": "location", "location": {"latitude": -23.58, "longitude": -46.64, "name": "Stand Aurora"}}
        await deliver(anonymous, text_message(wamid="wamid.L", **location))
        button = {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "visit", "title": "Agendar visita"}},
        }
        await deliver(anonymous, text_message(wamid="wamid.I", **button))
        await drain_now(worker)
        bodies = sorted(i.body for i in await rows(db, tenant, Interaction))
        assert bodies == ["Agendar visita", "[localização] Stand Aurora (-23.58, -46.64)"]

    async def test_an_image_is_fetched_from_the_graph_api_and_attached(
        self,
        anonymous: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
        graph: Any,
    ) -> None:
        image = {"type": "image", "image": {"id": "media-123", "mime_type": "image/png", "caption": "Planta"}}
        await deliver(anonymous, text_message(wamid="wamid.IMG", **image))
        await drain_now(worker)
        [interaction] = await rows(db, tenant, Interaction)
        assert interaction.body == "[imagem] Planta"
        assert interaction.meta.get("attachment_id"), interaction.meta
        assert any(r.path.endswith("/media-123") for r in graph.requests)

    async def test_a_media_download_that_fails_is_retried_by_the_bus(
        self,
        anonymous: httpx.AsyncClient,
        whatsapp: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
        graph: Any,
    ) -> None:
        image = {"type": "image", "image": {"id": "media-9", "mime_type": "image/png"}}
        for _ in range(3):  # the client's own retries, all failing
            graph.fail_next(503, {"error": {"message": "Service temporarily unavailable"}})
        await deliver(anonymous, text_message(wamid="wamid.IMG9", **image))
        await drain_now(worker)
        [interaction] = await rows(db, tenant, Interaction)  # the lead and message did not wait for the media
        assert not interaction.meta.get("attachment_id")
        worker.clock.advance(__import__("datetime").timedelta(minutes=5))  # type: ignore[attr-defined]
        await drain_now(worker)
        [interaction] = await rows(db, tenant, Interaction)
        assert interaction.meta.get("attachment_id")


class TestUnknownConnection:
    async def test_an_unknown_connection_key_is_404(
        self, anonymous: httpx.AsyncClient, whatsapp: dict[str, Any]
    ) -> None:
        response = await deliver(anonymous, text_message(), key="nobody")
        assert response.status_code == 404


PHONE = PHONE_NUMBER_ID
