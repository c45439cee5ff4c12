"""Imports are walled per tenant: another tenant's job is not found, and its lines never reach this tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import Role, Tenant
from tests import factories
from tests.dataimport.factories import csv_bytes, imported


@pytest.fixture
async def rival_manager(app: FastAPI, db: Database, other_tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    user = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
    async with factories.logged_in(app, other_tenant, user) as client:
        yield client


class TestImportsOfAnotherTenant:
    async def test_its_job_ids_are_not_found(
        self, as_manager: httpx.AsyncClient, rival_manager: httpx.AsyncClient
    ) -> None:
        theirs = await imported(rival_manager, csv_bytes([["Nome"], ["Cliente Rival"]]))
        assert (await as_manager.get(f"/v1/imports/{theirs['id']}")).status_code == 404
        assert (await as_manager.post(f"/v1/imports/{theirs['id']}/run")).status_code == 404
        assert (await as_manager.post(f"/v1/imports/{theirs['id']}/revert")).status_code == 404
        assert (await as_manager.get("/v1/imports")).json()["items"] == []

    async def test_their_real_run_cannot_be_reverted_from_here(
        self, as_manager: httpx.AsyncClient, rival_manager: httpx.AsyncClient
    ) -> None:
        theirs = await imported(rival_manager, csv_bytes([["Nome"], ["Cliente Rival"]]), dry_run=False)
        assert (await as_manager.post(f"/v1/imports/{theirs['id']}/revert")).status_code == 404
        person_id = theirs["report"][0]["entity_id"]
        assert (await rival_manager.get(f"/v1/people/{person_id}")).status_code == 200

    async def test_a_person_of_another_tenant_is_no_duplicate_here(
        self, as_manager: httpx.AsyncClient, db: Database, other_tenant: Tenant
    ) -> None:
        await factories.make_person(db, other_tenant, name="Rival", email="cliente@x.com")
        job = await imported(as_manager, csv_bytes([["Nome", "E-mail"], ["Cliente", "cliente@x.com"]]))
        assert job["report"][0]["outcome"] == "created"
