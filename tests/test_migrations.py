"""One Alembic history builds an empty SQLite and an empty PostgreSQL database, and matches the models."""

from __future__ import annotations

import pytest
from alembic import command

from leadflow.kit.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_URL, drop_postgres_database, new_postgres_database


def _upgrade_and_check(url: str) -> None:
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models and the migrations differ


class TestMigrations:
    def test_an_empty_sqlite_database_upgrades_and_matches_the_models(self, tmp_path: object) -> None:
        _upgrade_and_check(f"sqlite+aiosqlite:///{tmp_path}/empty.db")

    def test_an_empty_postgresql_database_upgrades_and_matches_the_models(self) -> None:
        if not POSTGRES_URL:
            pytest.skip("set LEADFLOW_TEST_POSTGRES_URL")
        url = new_postgres_database()
        try:
            _upgrade_and_check(url)
        finally:
            drop_postgres_database(url)

    def test_upgrading_twice_is_harmless(self, tmp_path: object) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/twice.db"
        upgrade(url)
        upgrade(url)
