"""The CLI: every command documents itself, and the admin commands work on a real database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.cli import cli
from leadflow.config import get_settings

runner = CliRunner()
COMMANDS = [[], ["serve"], ["migrate"], ["demo"], ["tenants", "create"], ["users", "create"], ["keys", "create"]]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LEADFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "leadflow")
def test_every_command_has_help(words: list[str]) -> None:
    result = runner.invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_admin_commands_provision_a_tenant(data_dir: Path) -> None:
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert (data_dir / "leadflow.db").exists()
    created = runner.invoke(cli, ["tenants", "create", "nova", "Nova Imóveis", "--host", "crm.nova.com.br"])
    assert created.exit_code == 0, created.output
    user = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--tenant",
            "nova",
            "--email",
            "dona@nova.example.com",
            "--name",
            "Dona",
            "--role",
            "owner",
        ],
        input="uma-senha-forte\numa-senha-forte\n",
    )
    assert user.exit_code == 0, user.output
    key = runner.invoke(cli, ["keys", "create", "--tenant", "nova", "--name", "ERP", "--scope", "read"])
    assert key.exit_code == 0, key.output
    assert key.output.strip().splitlines()[-1].startswith("lf_sk_")


def test_creating_a_tenant_twice_fails_clearly(data_dir: Path) -> None:
    runner.invoke(cli, ["migrate"])
    runner.invoke(cli, ["tenants", "create", "nova", "Nova"])
    again = runner.invoke(cli, ["tenants", "create", "nova", "Nova"])
    assert again.exit_code != 0


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "leadflow", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "demo" in result.stdout
