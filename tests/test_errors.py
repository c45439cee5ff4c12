"""Bad input gets a clear RFC 9457 problem, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from leadflow.models import User

PROBLEM = "application/problem+json"


class TestProblems:
    async def test_an_unknown_host_is_a_404_problem(self, app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nobody.example") as c:
            response = await c.get("/v1/me")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/tenant-not-found")

    async def test_a_wrong_content_type_is_415(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.post("/v1/auth/login", content=b"email=a", headers={"content-type": "text/plain"})
        assert response.status_code == 415
        assert response.headers["content-type"] == PROBLEM

    async def test_malformed_json_is_400(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.post(
            "/v1/auth/login", content=b'{"email": "a@b.c",', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["type"].endswith("/malformed-json")

    async def test_unknown_fields_are_422_naming_them(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.post(
            "/v1/auth/login", json={"email": "a@example.com", "password": "x", "admin": True}
        )
        assert response.status_code == 422
        body = response.json()
        assert "admin" in body["detail"]
        assert {"field": "admin", "message": "Extra inputs are not permitted", "type": "extra_forbidden"} in body[
            "errors"
        ]

    async def test_each_invalid_field_is_listed(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.post("/v1/auth/login", json={"email": "not-an-email"})
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"email", "password"}

    async def test_a_declared_oversized_body_is_413_before_reading(
        self, anonymous: httpx.AsyncClient, app: FastAPI
    ) -> None:
        limit = app.state.settings.max_body_bytes
        response = await anonymous.post(
            "/v1/auth/login", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM

    async def test_a_streamed_oversized_body_is_413(self, anonymous: httpx.AsyncClient, app: FastAPI) -> None:
        limit = app.state.settings.max_body_bytes

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        response = await anonymous.post(
            "/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413

    async def test_an_unknown_route_is_a_404_problem(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM

    async def test_a_wrong_method_is_a_405_problem(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.put("/v1/me", json={})
        assert response.status_code == 405
        assert response.json()["status"] == 405

    async def test_every_answer_carries_a_request_id(self, as_manager: httpx.AsyncClient, manager: User) -> None:
        response = await as_manager.get("/v1/me", headers={"x-request-id": "req-123"})
        assert response.headers["x-request-id"] == "req-123"


class TestNulCharacters:
    async def test_nul_in_a_query_string_is_a_400(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.get("/v1/people", params={"q": "a\x00b"})
        assert response.status_code == 400

    async def test_nul_in_a_body_field_is_a_422_naming_it(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/teams", json={"name": "Ven\x00das"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"
