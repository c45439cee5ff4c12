"""Builders for import tests: CSV bytes as a spreadsheet would write them, and uploads through the API."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Tenant

# Valid CPFs (check digits right) for tests.
CPF_A = "529.982.247-25"
CPF_B = "111.444.777-35"
CPF_INVALID = "123.456.789-00"


def csv_bytes(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    entity: str = "people",
    dry_run: bool = True,
    mode: str = "create",
    mapping: dict[str, str | None] | str | None = None,
    filename: str = "clientes.csv",
) -> httpx.Response:
    form: dict[str, Any] = {"entity": entity, "dry_run": str(dry_run).lower(), "mode": mode}
    if mapping is not None:
        form["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping)
    return await client.post("/v1/imports", data=form, files={"file": (filename, data, "text/csv")})


async def imported(client: httpx.AsyncClient, data: bytes, **kwargs: Any) -> dict[str, Any]:
    """Upload and return the finished job, failing the test on anything but 201."""
    response = await upload(client, data, **kwargs)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def outcomes(job: dict[str, Any]) -> list[tuple[int, str]]:
    return [(line["line"], line["outcome"]) for line in job["report"]]


def errors_at(job: dict[str, Any], line: int) -> list[dict[str, str | None]]:
    found: list[dict[str, str | None]] = next(entry["errors"] for entry in job["report"] if entry["line"] == line)
    return found


async def count_rows(db: Database, tenant: Tenant, model: type[Any], *, include_deleted: bool = False) -> int:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(func.count()).select_from(model).execution_options(include_deleted=include_deleted)
        return int((await session.execute(stmt)).scalar_one())
