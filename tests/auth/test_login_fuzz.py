"""Property: /v1/auth/login never answers 500, whatever the body."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
login_like = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(st.emails(), st.text(max_size=60), st.integers()),
        "password": st.one_of(st.text(max_size=60), st.none(), st.integers()),
        "extra": json_values,
    },
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class TestLoginNeverFails:
    @FUZZ
    @given(body=st.one_of(json_values, login_like))
    async def test_any_json_body_gets_a_client_answer(self, anonymous: httpx.AsyncClient, body: object) -> None:
        response = await anonymous.post(
            "/v1/auth/login", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert response.status_code in {400, 401, 422, 429}, response.text

    @FUZZ
    @given(raw=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "text/plain", ""]))
    async def test_any_bytes_get_a_client_answer(
        self, anonymous: httpx.AsyncClient, raw: bytes, content_type: str
    ) -> None:
        response = await anonymous.post("/v1/auth/login", content=raw, headers={"content-type": content_type})
        assert response.status_code in {400, 401, 415, 422, 429}, response.text
