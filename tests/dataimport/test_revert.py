"""Reverting a finished real run: what it created is soft-deleted, what it updated gets its values back; twice
is the same as once; a dry run or an unfinished run cannot be reverted."""

from __future__ import annotations

import httpx

from leadflow.kit.db import Database
from leadflow.models import Tenant
from tests import factories
from tests.dataimport.factories import CPF_A, csv_bytes, imported, outcomes

HEADER = ["Nome", "E-mail", "Celular", "CPF", "Tags"]


class TestRevertingAnImport:
    async def test_creations_are_deleted_and_updates_restored(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        existing = await factories.make_person(db, tenant, name="Maria", email="maria@gmail.com")
        data = csv_bytes(
            [
                HEADER,
                ["Maria Silva", "maria@gmail.com", "(11) 98765-4321", CPF_A, "vip"],
                ["Nova Pessoa", "nova@x.com", "", "", ""],
            ]
        )
        job = await imported(as_manager, data, dry_run=False, mode="upsert")
        assert outcomes(job) == [(2, "updated"), (3, "created")]
        response = await as_manager.post(f"/v1/imports/{job['id']}/revert")
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["reverted_at"] is not None) == ("reverted", True)
        restored = (await as_manager.get(f"/v1/people/{existing.id}")).json()
        assert (restored["name"], restored["phones"], restored["cpf_cnpj"], restored["tags"]) == ("Maria", [], None, [])
        assert restored["emails"] == ["maria@gmail.com"]
        assert (await as_manager.get(f"/v1/people/{job['report'][1]['entity_id']}")).status_code == 404

    async def test_reverting_twice_changes_nothing_more(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", "", ""]]), dry_run=False)
        first = await as_manager.post(f"/v1/imports/{job['id']}/revert")
        second = await as_manager.post(f"/v1/imports/{job['id']}/revert")
        assert (first.status_code, second.status_code) == (200, 200)
        assert first.json()["reverted_at"] == second.json()["reverted_at"]

    async def test_a_person_deleted_since_is_skipped(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", "", ""]]), dry_run=False)
        assert (await as_manager.delete(f"/v1/people/{job['report'][0]['entity_id']}")).status_code == 204
        assert (await as_manager.post(f"/v1/imports/{job['id']}/revert")).status_code == 200

    async def test_a_dry_run_cannot_be_reverted(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", "", ""]]))
        response = await as_manager.post(f"/v1/imports/{job['id']}/revert")
        assert response.status_code == 409
        assert "dry run" in response.json()["detail"]

    async def test_a_reverted_import_stays_listed_with_its_status(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", "", ""]]), dry_run=False)
        await as_manager.post(f"/v1/imports/{job['id']}/revert")
        listed = (await as_manager.get("/v1/imports", params={"status": "reverted"})).json()["items"]
        assert [(j["id"], j["summary"]["created"]) for j in listed] == [(job["id"], 1)]
        assert "report" not in listed[0]
