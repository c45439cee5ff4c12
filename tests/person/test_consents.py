"""Consents (LGPD) are append-only: a withdrawal is a new row and earlier rows never change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.models import User

GIVEN: dict[str, Any] = {
    "channel": "whatsapp",
    "purpose": "marketing",
    "legal_basis": "consentimento",
    "source": "formulário do site Residencial Aurora",
    "text_version": "politica-privacidade-2026-01",
    "status": "given",
}


@pytest.fixture
async def person_id(as_broker: httpx.AsyncClient) -> str:
    response = await as_broker.post("/v1/people", json={"name": "Maria Silva"})
    assert response.status_code == 201
    created: str = response.json()["id"]
    return created


class TestRecordingConsents:
    async def test_a_consent_is_recorded_with_who_and_when(
        self, as_broker: httpx.AsyncClient, broker: User, person_id: str
    ) -> None:
        response = await as_broker.post(f"/v1/people/{person_id}/consents", json=GIVEN)
        assert response.status_code == 201, response.text
        consent = response.json()
        assert {k: consent[k] for k in GIVEN} == GIVEN
        assert consent["given_at"] is not None
        assert consent["withdrawn_at"] is None
        assert consent["recorded_by_id"] == str(broker.id)

    async def test_a_withdrawal_is_a_new_row_and_the_first_is_unchanged(
        self, as_broker: httpx.AsyncClient, person_id: str
    ) -> None:
        path = f"/v1/people/{person_id}/consents"
        given = (await as_broker.post(path, json=GIVEN)).json()
        withdrawn = (await as_broker.post(path, json={**GIVEN, "status": "withdrawn"})).json()
        assert withdrawn["id"] != given["id"]
        assert withdrawn["withdrawn_at"] is not None
        assert withdrawn["given_at"] is None
        history = (await as_broker.get(path)).json()["items"]
        assert [c["id"] for c in history] == [withdrawn["id"], given["id"]]
        assert history[1] == given

    async def test_there_is_no_way_to_edit_or_delete_a_consent(
        self, as_manager: httpx.AsyncClient, person_id: str
    ) -> None:
        path = f"/v1/people/{person_id}/consents"
        consent = (await as_manager.post(path, json=GIVEN)).json()
        for method in ("PATCH", "PUT", "DELETE"):
            assert (await as_manager.request(method, path, json={})).status_code == 405
            assert (await as_manager.request(method, f"{path}/{consent['id']}", json={})).status_code == 404
        assert (await as_manager.get(path)).json()["items"] == [consent]

    async def test_an_unknown_legal_basis_is_named(self, as_broker: httpx.AsyncClient, person_id: str) -> None:
        response = await as_broker.post(f"/v1/people/{person_id}/consents", json={**GIVEN, "legal_basis": "porque sim"})
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["legal_basis"]

    async def test_recording_is_audited(self, as_manager: httpx.AsyncClient, person_id: str) -> None:
        consent = (await as_manager.post(f"/v1/people/{person_id}/consents", json=GIVEN)).json()
        audit = (await as_manager.get("/v1/audit", params={"entity_id": consent["id"]})).json()["items"]
        assert [e["action"] for e in audit] == ["create"]

    async def test_a_deleted_persons_consents_are_404(self, as_manager: httpx.AsyncClient, person_id: str) -> None:
        await as_manager.delete(f"/v1/people/{person_id}")
        assert (await as_manager.get(f"/v1/people/{person_id}/consents")).status_code == 404
        assert (await as_manager.post(f"/v1/people/{person_id}/consents", json=GIVEN)).status_code == 404
