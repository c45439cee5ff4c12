"""Reading a verified webhook body as JSON (bytes, strict UTF-8; no NaN/Infinity)."""

from __future__ import annotations

import json
from typing import Any

from leadflow.integrations.base import Refused


def _no_constants(value: str) -> Any:
    raise ValueError(f"{value} is not JSON")


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("the body is not JSON", kind="malformed_json") from exc
