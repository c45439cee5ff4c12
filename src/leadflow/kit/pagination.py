"""Keyset pagination with an opaque, stable cursor over (sort value, id)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from leadflow.kit.errors import BadRequest

MAX_LIMIT = 200
T = TypeVar("T")


def encode_cursor(value: Any, row_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = datetime.fromisoformat(value["dt"])
        return value, uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


def keyset(
    stmt: Select[Any],
    *,
    sort: InstrumentedAttribute[Any],
    id_col: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
    descending: bool = True,
) -> Select[Any]:
    """Order by (sort, id) and start after the cursor; fetches one extra row to know if more exist."""
    if cursor:
        value, last_id = decode_cursor(cursor)
        if descending:
            stmt = stmt.where(or_(sort < value, and_(sort == value, id_col < last_id)))
        else:
            stmt = stmt.where(or_(sort > value, and_(sort == value, id_col > last_id)))
    order = (sort.desc(), id_col.desc()) if descending else (sort.asc(), id_col.asc())
    return stmt.order_by(*order).limit(min(max(limit, 1), MAX_LIMIT) + 1)


def page_of(rows: Sequence[T], *, limit: int, sort_key: str) -> tuple[list[T], str | None]:
    limit = min(max(limit, 1), MAX_LIMIT)
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    last = items[-1]
    return items, encode_cursor(getattr(last, sort_key), last.id)  # type: ignore[attr-defined]
