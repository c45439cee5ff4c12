"""``leadflow audit verify`` on a real database file: exit 0 while every chain holds, 1 naming the first broken
entry once a byte of a stored entry is flipped, 2 for an unknown tenant."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.cli import cli
from leadflow.config import get_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LEADFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    for slug in ("nova", "velha"):
        assert runner.invoke(cli, ["tenants", "create", slug, slug.title()]).exit_code == 0
    yield tmp_path
    get_settings.cache_clear()


def test_verify_passes_on_intact_chains(data_dir: Path) -> None:
    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "nova: ok" in result.output
    assert "velha: ok" in result.output


def test_verify_fails_naming_the_entry_whose_byte_was_flipped(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "leadflow.db") as conn:
        entry_id, seq = conn.execute(
            "SELECT a.id, a.seq FROM audit_log a JOIN tenants t ON t.id = a.tenant_id"
            " WHERE t.slug = 'nova' ORDER BY a.seq LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE audit_log SET action = 'creatf' WHERE id = ?", (entry_id,))

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 1
    assert f"nova: BROKEN at entry {seq}" in result.output
    assert entry_id[:8] in result.output.replace("-", "")
    assert "velha: ok" in result.output


def test_verify_of_one_tenant_checks_only_that_tenant(data_dir: Path) -> None:
    result = runner.invoke(cli, ["audit", "verify", "--tenant", "velha"])

    assert result.exit_code == 0, result.output
    assert "velha: ok" in result.output
    assert "nova" not in result.output


def test_verify_of_an_unknown_tenant_exits_2(data_dir: Path) -> None:
    assert runner.invoke(cli, ["audit", "verify", "--tenant", "ninguem"]).exit_code == 2
