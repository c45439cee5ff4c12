"""Property: any bytes uploaded as a CSV give a reasoned refusal or a finished job whose report accounts for every
line, never a 500, and a real run writes exactly what its report says it created."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leadflow.kit.db import Database
from leadflow.models import ImportedRow, Person, Tenant
from tests.dataimport.factories import count_rows, upload

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["(11) 98765-4321", "maria@gmail.com", "529.982.247-25", "12", "", '"', "\x00", "São Paulo"]),
)
lines = st.lists(st.lists(cells, min_size=1, max_size=5), max_size=8)
encodings = st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16"])
separators = st.sampled_from([";", ",", "\t"])


def spreadsheet(rows: list[list[str]], separator: str, encoding: str) -> bytes:
    text = "\n".join(separator.join(row) for row in [["Nome", "E-mail", "Telefone", "CPF"], *rows])
    return text.encode(encoding, errors="replace")


class TestAnyUploadIsAccountedFor:
    @FUZZ
    @given(data=st.one_of(st.binary(max_size=300), st.builds(spreadsheet, lines, separators, encodings)))
    async def test_any_bytes_are_refused_with_a_reason_or_reported_line_by_line(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, data: bytes
    ) -> None:
        people_before = await count_rows(db, tenant, Person)
        response = await upload(as_manager, data, dry_run=False)
        event(f"status {response.status_code}")
        assert response.status_code in {201, 413, 422}, response.text
        if response.status_code != 201:
            assert response.json()["detail"]
            assert await count_rows(db, tenant, Person) == people_before
            return
        job = response.json()
        assert job["status"] == "done"
        assert job["processed_rows"] == job["total_rows"] == len(job["report"])
        assert sum(job["summary"].values()) == job["total_rows"]
        assert all(line["errors"] for line in job["report"] if line["outcome"] == "error")
        created = [line["entity_id"] for line in job["report"] if line["outcome"] == "created"]
        assert all(created)
        assert await count_rows(db, tenant, Person) == people_before + len(created)
        assert await count_rows(db, tenant, ImportedRow) >= len(created)
