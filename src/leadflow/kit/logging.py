"""structlog setup: JSON lines in production and pipes, pretty console in a terminal; secrets and personal data
redacted.

Two walls, both in :func:`redact_secrets`: a field whose name says it is secret or personal is replaced whole, at
any depth; and in every text of the line (the message and the rendered exception included) what has the shape
of an e-mail, a CPF or CNPJ, or a Brazilian phone number is masked, so a value that slipped into an f-string or
an error message does not reach the log either. The rest of the line is kept: ids, routes, statuses, timings.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names whose value is never logged. `input` is what Pydantic echoes of a refused value (a form's e-mail,
# a password too short); `email`/`phone`/`cpf` cover personal fields logged by name.
_SENSITIVE = re.compile(
    r"pass(word)?|token|secret|authorization|api_?key|cookie|key_hash|cpf|cnpj|e_?mail|phone|telefone|^input$",
    re.I,
)
REDACTED = "[redacted]"
# Shapes of personal data inside free text. Bounded by characters that cannot touch an id: a UUID or a hex
# request id never matches, since its digits always sit next to a letter, a digit or a hyphen.
_PERSONAL_SHAPES = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<![\w.-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w-])"), "[cpf]"),
    (re.compile(r"(?<![\w.-])\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}(?![\w-])"), "[cnpj]"),
    (re.compile(r"(?<![\w-])(?:\+?55\s?)?(?:\(?\d{2}\)?\s?)?9?\d{4}[-\s]\d{4}(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w.-])\+?\d{10,14}(?![\w.-])"), "[number]"),  # phone, CPF or CNPJ as bare digits
)


def mask_personal_data(text: str) -> str:
    for pattern, mask in _PERSONAL_SHAPES:
        text = pattern.sub(mask, text)
    return text


def _redact(value: Any, key: str = "") -> Any:
    if key and _SENSITIVE.search(key):
        return REDACTED
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secret and personal fields by name, and personal data by shape in every text (the message too)."""
    for key in list(event.keys()):
        if key in _KEPT:
            continue
        event[key] = _redact(event[key], "" if key in _FREE_TEXT else key)
    return event


_KEPT = frozenset({"timestamp", "level", "request_id"})  # ours, and shaped like nothing personal
_FREE_TEXT = frozenset({"event", "exception"})  # texts whose key says nothing of their content


class StderrLogger:
    """Writes each line to the current ``sys.stderr`` (looked up per call, so redirections are honoured)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> StderrLogger:
    return StderrLogger()


def configure_logging(*, fmt: str = "auto", level: str = "INFO") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # first, so the redactor sees the traceback's text too
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )
