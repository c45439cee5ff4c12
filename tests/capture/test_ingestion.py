"""Segment SDKs post to /v1/batch and friends: each valid event lands once, each invalid one is kept with its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from leadflow.capture.service import occurred_at
from leadflow.kit.db import Database
from leadflow.models import ApiKey, FailureType, Tenant
from tests.capture.factories import counts, events_of, opened_of, rejected_of, track


class TestABatchLandsOnce:
    async def test_a_segment_batch_is_stored_with_its_projections(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        batch = [track(), track(type="page", name="Residencial Aurora"), track(type="identify", userId="u-1")]
        response = await segment.post("/v1/batch", json={"batch": batch, "sentAt": "2026-05-04T13:21:08Z"})
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "accepted": 3, "duplicates": 0, "rejected": []}
        stored = await events_of(db, tenant)
        assert [e.message_id for e in stored] == sorted(e["messageId"] for e in batch)
        first = stored[0]
        assert (first.type, first.name, first.source) == ("track", "Formulário enviado", "segment")
        assert (first.utm_source, first.utm_medium, first.utm_campaign) == ("facebook", "paid", "aurora-lancamento")
        assert first.page_url == "https://aurora.exemplo.com.br/residencial-aurora"
        assert first.tracking_id == "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2"
        assert first.api_key_id == write_key[0].id
        assert str(first.user_agent).startswith("Mozilla/5.0 (iPhone")
        assert "Maria Silva" not in str(first.payload)  # sealed under the visitor's key
        assert (await opened_of(db, tenant))[0].payload["properties"] == {"imovel": "AP-1024", "nome": "Maria Silva"}

    async def test_a_re_sent_batch_stores_nothing_new(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        body = {"batch": [track(), track()]}
        assert (await segment.post("/v1/batch", json=body)).json()["accepted"] == 2
        again = await segment.post("/v1/batch", json=body)
        assert again.status_code == 200
        assert again.json() | {"rejected": []} == {"success": True, "accepted": 0, "duplicates": 2, "rejected": []}
        assert await counts(db, tenant) == (2, 0)

    async def test_the_same_message_twice_in_one_batch_is_stored_once(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        event = track()
        response = await segment.post("/v1/batch", json={"batch": [event, event]})
        assert (response.json()["accepted"], response.json()["duplicates"]) == (1, 1)
        assert await counts(db, tenant) == (1, 0)

    async def test_an_event_without_message_id_gets_one_and_its_re_send_is_a_duplicate(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        event = track()
        del event["messageId"]
        assert (await segment.post("/v1/track", json=event)).json()["accepted"] == 1
        assert (await segment.post("/v1/track", json=event)).json()["duplicates"] == 1
        assert (await events_of(db, tenant))[0].message_id.startswith("lf-")

    async def test_batch_context_and_sent_at_apply_to_every_event(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        event = track(context={"library": {"name": "leadflow.js", "version": "0.1.0"}})
        body = {"batch": [event], "context": {"campaign": {"source": "google"}}, "sentAt": "2026-05-04T13:21:08.412Z"}
        assert (await segment.post("/v1/batch", json=body)).json()["accepted"] == 1
        stored = (await events_of(db, tenant))[0]
        assert (stored.utm_source, stored.source) == ("google", "t.js")
        assert stored.sent_at == datetime(2026, 5, 4, 13, 21, 8, 412000, tzinfo=UTC)


class TestSingleCalls:
    async def test_track_page_identify_and_alias_each_store_one_event(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        calls = {
            "/v1/track": track(),
            "/v1/page": track(name="Residencial Aurora"),
            "/v1/identify": track(userId="lead-42", traits={"email": "maria@example.com"}),
            "/v1/alias": track(userId="lead-42", previousId="trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2"),
        }
        for path, event in calls.items():
            response = await segment.post(path, json=event)
            assert response.json()["accepted"] == 1, (path, response.text)
        assert sorted(e.type for e in await events_of(db, tenant)) == ["alias", "identify", "page", "track"]

    async def test_the_write_key_may_come_in_the_body(
        self, app: FastAPI, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acme.localhost") as client:
            response = await client.post("/v1/track", json={**track(), "writeKey": write_key[1]})
        assert response.json()["accepted"] == 1
        assert "writeKey" not in (await opened_of(db, tenant))[0].payload

    async def test_the_write_key_may_come_as_a_bearer_token(
        self, app: FastAPI, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {write_key[1]}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://acme.localhost", headers=headers) as client:
            assert (await client.post("/v1/track", json=track())).json()["accepted"] == 1


class TestInvalidEventsAreKeptWithTheirReason:
    async def test_a_mixed_batch_stores_the_valid_and_rejects_the_invalid(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        no_name = track()
        del no_name["event"]
        nobody = track(type="page")
        del nobody["anonymousId"]
        batch = [track(), no_name, "não é um evento", nobody, track(type="alias"), track(timestamp="ontem")]
        response = await segment.post("/v1/batch", json={"batch": batch})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["accepted"] == 1
        assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4, 5]
        assert body["rejected"][0]["messageId"] == no_name["messageId"]
        messages = " ".join(str(r["errors"]) for r in body["rejected"])
        for reason in ("event name", "JSON object", "anonymousId or userId", "previousId", "timestamp"):
            assert reason in messages
        rejected = await rejected_of(db, tenant)
        assert [r.failure_type for r in rejected] == [FailureType.SCHEMA_VIOLATION] * 5
        assert '"não é um evento"' in {r.raw for r in rejected}
        assert await counts(db, tenant) == (1, 5)

    async def test_an_event_over_32_kb_is_a_size_violation(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        big = track(properties={"descricao": "x" * 40_000})
        response = await segment.post("/v1/batch", json={"batch": [big, track()]})
        assert response.json()["accepted"] == 1
        assert [r.failure_type for r in await rejected_of(db, tenant)] == [FailureType.SIZE_VIOLATION]

    async def test_values_no_database_can_store_are_rejected(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        body = '{"batch": [%s, %s]}'
        nul = '{"type":"track","event":"a\\u0000b","anonymousId":"x","messageId":"m-nul"}'
        surrogate = '{"type":"track","event":"\\ud800","anonymousId":"x","messageId":"m-sur"}'
        response = await segment.post(
            "/v1/batch", content=body % (nul, surrogate), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        assert [r["index"] for r in response.json()["rejected"]] == [0, 1]
        assert await counts(db, tenant) == (0, 2)

    async def test_a_refused_event_naming_a_visitor_id_no_database_can_store_is_still_kept(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        # Found by the fuzz test: the visitor id named the key the rejected body was sealed under, and PostgreSQL
        # refused the NUL in it, failing the whole write (a 503 for a body that only deserved a rejection).
        nul_visitor = '{"type":"track","event":"Visita","anonymousId":"a\\u0000b","messageId":"m-nul-visitor"}'
        response = await segment.post("/v1/track", content=nul_visitor, headers={"content-type": "application/json"})
        assert response.status_code in {200, 400}, response.text
        assert await counts(db, tenant) == (0, 1)

    async def test_a_body_that_is_not_json_is_kept_raw_and_answered_400(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        raw = b'{"batch": [{"type": "track", "event": "Formul\xe1rio"'
        response = await segment.post("/v1/batch", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        [rejected] = await rejected_of(db, tenant)
        assert rejected.failure_type is FailureType.MALFORMED_JSON
        assert rejected.raw == raw.decode("utf-8", errors="replace")
        assert await counts(db, tenant) == (0, 1)

    async def test_a_body_without_a_batch_list_is_kept_and_answered_400(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        raw = '{"batch": {"type": "track"}}'
        response = await segment.post("/v1/batch", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400
        [rejected] = await rejected_of(db, tenant)
        assert rejected.failure_type is FailureType.SCHEMA_VIOLATION
        assert rejected.raw == raw

    async def test_a_body_over_500_kb_is_refused_413_and_nothing_is_stored(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        batch = [track(properties={"descricao": "x" * 20_000}) for _ in range(30)]
        response = await segment.post("/v1/batch", json={"batch": batch})
        assert response.status_code == 413
        assert await counts(db, tenant) == (0, 0)


class TestClockSkew:
    def test_the_client_offset_is_applied_to_the_server_clock(self) -> None:
        received = datetime(2026, 5, 4, 13, 0, 0, tzinfo=UTC)
        client_clock = datetime(2026, 5, 4, 15, 0, 0, tzinfo=UTC)  # two hours fast
        happened = client_clock - timedelta(seconds=30)
        assert occurred_at(received, client_clock, happened) == received - timedelta(seconds=30)
        assert occurred_at(received, None, happened) == happened
        assert occurred_at(received, None, None) == received

    def test_an_absurd_client_clock_keeps_the_client_time(self) -> None:
        received = datetime(2026, 5, 4, 13, 0, 0, tzinfo=UTC)
        happened = datetime(1, 1, 1, tzinfo=UTC)
        assert occurred_at(received, datetime(9999, 1, 1, tzinfo=UTC), happened) == happened

    async def test_a_date_out_of_range_is_a_rejection_not_an_error(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        response = await segment.post("/v1/track", json=track(timestamp="0001-01-01T00:00:00+05:00"))
        assert response.json()["rejected"][0]["errors"][0]["path"] == "timestamp"
        assert await counts(db, tenant) == (0, 1)

    async def test_a_stored_event_carries_the_corrected_time(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        event = track(timestamp="2030-01-01T10:00:00Z", sentAt="2030-01-01T10:00:05Z")
        before = datetime.now(UTC)
        assert (await segment.post("/v1/track", json=event)).json()["accepted"] == 1
        stored = (await events_of(db, tenant))[0]
        assert stored.timestamp == datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
        assert stored.occurred_at == stored.received_at - timedelta(seconds=5)
        assert before - timedelta(seconds=10) < stored.occurred_at < datetime.now(UTC)
