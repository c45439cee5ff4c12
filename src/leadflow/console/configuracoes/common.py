"""What every settings section shares: its router (managers and owners only), the sections' menu and rendering."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadflow.console.auth import ConsolePage
from leadflow.console.configuracoes.forms import FormState
from leadflow.console.web import ConsoleRoute, render

PREFIX = "/app/configuracoes"
# (path segment, menu label): the label is a message id of the console's catalog.
SECTIONS = (
    ("funis", "Pipelines and stages"),
    ("regras", "Rules"),
    ("equipes", "Teams and roleta"),
    ("usuarios", "Users and roles"),
    ("sites", "Sites and tracking"),
    ("webhooks", "Partner webhooks"),
    ("integracoes", "Integrations"),
    ("campos", "Custom fields"),
    ("retencao", "Retention"),
)
NO_FORM = FormState(form="", status=200)


def section_router() -> APIRouter:
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def render_section(
    request: Request, page: ConsolePage, section: str, *, form: FormState | None = None, **values: Any
) -> HTMLResponse:
    return render(
        request,
        f"configuracoes/{section}.html",
        page=page,
        nav="configuracoes",
        section=section,
        sections=SECTIONS,
        form=form or NO_FORM,
        saved=request.query_params.get("salvo", ""),
        show=shown,
        **values,
    )


def shown(value: Any) -> str:
    """A value as JSON a person can read (accents kept), for explanations and audit changes."""
    return json.dumps(value, ensure_ascii=False, default=str)


def saved(section: str, what: str) -> str:
    """Where a successful form sends the browser: its section, saying what was saved."""
    return f"{PREFIX}/{section}?salvo={what}"
