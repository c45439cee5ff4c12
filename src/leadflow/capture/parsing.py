"""Reading outside input safely: JSON that is not JSON, values a database cannot store, events too big."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from leadflow.capture.schemas import SegmentEvent
from leadflow.models import FailureType

MAX_BODY_BYTES = 500 * 1024  # Segment's limit for a batch
MAX_EVENT_BYTES = 32 * 1024  # Segment's limit for one event
MAX_DEPTH = 64


class NotJson(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Refusal:
    failure_type: FailureType
    failure: list[dict[str, str]]


def _refuse_constant(name: str) -> Any:
    raise NotJson(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """The decoded body; raises NotJson for anything that is not strict JSON."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise NotJson("the JSON is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise NotJson(str(exc)) from exc


def body_text(raw: bytes) -> str:
    """The body as text, as close to the bytes as a text column allows (no NUL in PostgreSQL)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def event_text(item: Any) -> str:
    try:
        return json.dumps(item, ensure_ascii=False).encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it escaped
        return json.dumps(item)


def depth_of(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, depth)
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def storable_text(text: str) -> str:
    """Text any column can hold: NUL and lone surrogates become U+FFFD."""
    return text.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")


def _unstorable(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    if isinstance(value, str):
        if "\x00" in value:
            return "text must not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text must be valid Unicode (no lone surrogates)"
    return None


def storage_problems(item: Any) -> list[dict[str, str]]:
    """Values no database column can hold, with their paths (walks iteratively: depth is bounded anyway)."""
    problems: list[dict[str, str]] = []
    stack: list[tuple[Any, str]] = [(item, "")]
    while stack and len(problems) < 10:
        current, path = stack.pop()
        pairs = (
            current.items() if isinstance(current, dict) else enumerate(current) if isinstance(current, list) else ()
        )
        for key, child in pairs:
            child_path = storable_text(f"{path}.{key}" if path else str(key))
            message = _unstorable(key) or _unstorable(child)
            if message:
                problems.append({"path": child_path, "message": message})
            stack.append((child, child_path))
    return problems


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"path": storable_text(".".join(str(p) for p in e["loc"]) or "$"), "message": storable_text(e["msg"])}
        for e in exc.errors()
    ]


def _size_if_storable(item: Any) -> int | None:
    """The event's size in bytes when one serialisation proves every value storable, else None (walk it).

    Strict JSON refuses non-finite numbers, UTF-8 refuses lone surrogates, and a NUL anywhere shows as the escape
    ``\\u0000`` (a text merely containing that escape matches too, and is then walked: never a false pass).
    """
    try:
        text = json.dumps(item, ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))
    except (ValueError, UnicodeEncodeError):
        return None
    return None if "\\u0000" in text else size


def check_event(item: Any) -> SegmentEvent | Refusal:
    """A valid event, or why not."""
    if not isinstance(item, dict):
        return Refusal(FailureType.SCHEMA_VIOLATION, [{"path": "$", "message": "an event must be a JSON object"}])
    proven_size = _size_if_storable(item)
    size = proven_size if proven_size is not None else len(event_text(item).encode("utf-8", errors="replace"))
    if size > MAX_EVENT_BYTES:
        message = f"an event may not exceed {MAX_EVENT_BYTES} bytes"
        return Refusal(FailureType.SIZE_VIOLATION, [{"path": "$", "message": message}])
    problems = [] if proven_size is not None else storage_problems(item)
    if problems:
        return Refusal(FailureType.SCHEMA_VIOLATION, problems)
    try:
        return SegmentEvent.model_validate(item)
    except ValidationError as exc:
        return Refusal(FailureType.SCHEMA_VIOLATION, _validation_errors(exc))


def generated_message_id(item: dict[str, Any]) -> str:
    """For events sent without messageId: derived from the content, so an identical re-send is still a duplicate."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
    return "lf-" + hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()[:40]
