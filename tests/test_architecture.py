"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "leadflow"
HAND_FILTER = re.compile(r"tenant_id\s*(==|!=)|\.tenant_id\.(in_|is_)\(|filter_by\([^)]*tenant_id")


def test_no_tenant_filter_is_written_by_hand_outside_kit() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "kit"):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if HAND_FILTER.search(line) and "tenant-check:" not in line:
                offenders.append(f"{path.relative_to(SRC)}:{lineno}: {line.strip()}")
    assert not offenders, "filter tenants through the session scope, not by hand:\n" + "\n".join(offenders)


def test_services_never_commit() -> None:
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("service.py") if re.search(r"\.commit\(\)", p.read_text())]
    assert not offenders, f"services must not commit: {offenders}"


def test_endpoints_build_no_sql() -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("endpoints.py")
        if re.search(r"from sqlalchemy import|\bselect\(", p.read_text())
    ]
    assert not offenders, f"endpoints must call a service, not build SQL: {offenders}"
