"""Property: whatever JSON reaches an ingestion endpoint, no 500, and every item is stored or rejected."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.kit.db import Database
from leadflow.models import Tenant
from tests.capture.factories import counts

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
moments = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "+05:00"),
    st.datetimes().map(lambda d: d.isoformat() + "-05:00"),
)
text_or_junk = st.one_of(st.text(max_size=20), st.integers(), st.none(), json_values)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(st.sampled_from(["track", "page", "identify", "alias", "screen", "group"]), text_or_junk),
        "messageId": st.one_of(st.sampled_from(["m-1", "m-2", "m-3"]), text_or_junk),
        "anonymousId": text_or_junk,
        "userId": text_or_junk,
        "event": text_or_junk,
        "previousId": text_or_junk,
        "groupId": text_or_junk,
        "properties": json_values,
        "context": st.one_of(json_values, st.fixed_dictionaries({"campaign": json_values, "page": json_values})),
        "timestamp": st.one_of(moments, text_or_junk),
        "sentAt": st.one_of(moments, text_or_junk),
    },
)
batches = st.one_of(
    st.fixed_dictionaries({"batch": st.lists(st.one_of(event_like, json_values), max_size=6)}),
    json_values,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _items(body: Any) -> int:
    return len(body["batch"]) if isinstance(body, dict) and isinstance(body.get("batch"), list) else 0


class TestEveryItemIsAccountedFor:
    @FUZZ
    @given(body=batches)
    async def test_any_json_batch_is_stored_or_rejected_never_a_500(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant, body: Any
    ) -> None:
        events_before, rejected_before = await counts(db, tenant)
        response = await segment.post(
            "/v1/batch", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        events_after, rejected_after = await counts(db, tenant)
        if response.status_code == 400:
            assert (events_after, rejected_after) == (events_before, rejected_before + 1), response.text
            return
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == _items(body)
        assert events_after - events_before == result["accepted"]
        assert rejected_after - rejected_before == len(result["rejected"])

    @FUZZ
    @given(body=st.one_of(event_like, json_values), path=st.sampled_from(["track", "page", "identify", "alias"]))
    async def test_any_single_call_is_stored_or_rejected_never_a_500(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant, body: Any, path: str
    ) -> None:
        before = sum(await counts(db, tenant))
        response = await segment.post(
            f"/v1/{path}", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert response.status_code in {200, 400}, response.text
        if response.status_code == 200:
            result = response.json()
            assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == 1
        stored = sum(await counts(db, tenant)) - before
        assert stored == (0 if response.status_code == 200 and response.json()["duplicates"] else 1)

    @FUZZ
    @given(raw=st.binary(max_size=300))
    async def test_any_bytes_are_kept_or_accepted_never_a_500(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant, raw: bytes
    ) -> None:
        response = await segment.post("/v1/batch", content=raw, headers={"content-type": "application/json"})
        assert response.status_code in {200, 400}, response.text
