"""Integrations: each channel connection with its health (status, last success, last error), a new connection with
the provider's own settings (secrets typed once, never shown back), and disconnection (integrations.service); and
the CRMs, one connection each, connected, replaced or disconnected with their own settings (sync.service)."""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.integrations import service as integrations
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.schemas import ConnectionCreate, ProviderRead
from leadflow.kit.web import DbSession
from leadflow.sync import service as sync
from leadflow.sync.schemas import CrmConnectionRead
from leadflow.user import service as users

router = section_router()
Text = Annotated[str, Form(max_length=200)]


def setting_fields(provider: ProviderRead) -> list[dict[str, Any]]:
    """The provider's settings as form fields: a secret (writeOnly) is a password input, a number a number."""
    schema = provider.settings_schema
    required = set(schema.get("required", []))
    fields = []
    for name, spec in schema.get("properties", {}).items():
        kinds = {spec.get("type")} | {option.get("type") for option in spec.get("anyOf", [])}
        fields.append(
            {
                "name": name,
                "title": spec.get("title", name),
                "secret": bool(spec.get("writeOnly")),
                "number": "integer" in kinds,
                "mapping": "object" in kinds,  # typed as JSON (a CRM's field mapping)
                "required": name in required,
                "default": spec.get("default"),
            }
        )
    return fields


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None, *, chosen: str = ""
) -> Response:
    ring = key_ring(request.app.state.settings)
    connections = [
        integrations.read_connection(c, ring) for c in await integrations.list_connections(session, page.scope)
    ]
    providers = {provider.name: provider for provider in integrations.list_providers()}
    chosen = chosen or request.query_params.get("provider", "")
    teams, _ = await users.list_teams(session, page.scope, cursor=None, limit=200)
    crm_connections = {
        c.provider: CrmConnectionRead.model_validate(c) for c in await sync.list_connections(session, page.scope)
    }
    return render_section(
        request,
        page,
        "integracoes",
        form=form,
        connections=connections,
        providers=providers,
        chosen=providers.get(chosen),
        fields=setting_fields(providers[chosen]) if chosen in providers else [],
        teams=teams,
        crms=[(crm, setting_fields(crm), crm_connections.get(crm.name)) for crm in sync.crm_providers()],
    )


@router.get("/integracoes")
async def integrations_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


def _settings(sent: Any, provider: ProviderRead) -> dict[str, Any]:
    """What was typed, blank fields left out (the provider's defaults apply); numbers as numbers when they are, a
    mapping as the JSON object typed (anything else is left as text, for the schema to refuse by name)."""
    settings: dict[str, Any] = {}
    for field in setting_fields(provider):
        value = str(sent.get(f"setting-{field['name']}", "")).strip()[:10_000]
        if not value:
            continue
        if field["number"] and value.isdigit():
            settings[field["name"]] = int(value)
        elif field["mapping"]:
            settings[field["name"]] = _json_object(value)
        else:
            settings[field["name"]] = value
    return settings


def _json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@router.post("/integracoes")
async def connect(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    provider: Text = "",
    key: Text = "",
    name: Text = "",
    team_id: Text = "",
) -> Response:
    sent = await request.form()
    spec = next((p for p in integrations.list_providers() if p.name == provider), None)
    # What was typed comes back on a refusal, the secrets excepted.
    secret_names = {f"setting-{f['name']}" for f in setting_fields(spec)} if spec else set()
    secrets = {f"setting-{f['name']}" for f in setting_fields(spec) if f["secret"]} if spec else set()
    values = {
        k: str(v)[:200] for k, v in sent.items() if k in secret_names - secrets or k in ("key", "name", "team_id")
    }

    async def write() -> str:
        body = {
            "provider": provider,
            "key": key,
            "name": name,
            "team_id": team_id or None,
            "settings": _settings(sent, spec) if spec else {},
        }
        ring = key_ring(request.app.state.settings)
        await integrations.connect(session, page.scope, data=ConnectionCreate.model_validate(body), ring=ring)
        return saved("integracoes", "integracao")

    again = partial(_render, request, page, session, chosen=provider)
    return await attempt(write, again, locale=page.locale, form="new-connection", values=values)


@router.post("/integracoes/{connection_id}/desconectar")
async def disconnect(connection_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await integrations.disconnect(session, page.scope, connection_id=connection_id)
    return RedirectResponse(saved("integracoes", "desconectada"), status_code=303)


@router.post("/integracoes/crm/{provider}")
async def connect_crm(provider: str, request: Request, page: ManagerPage, session: DbSession) -> Response:
    """Connect a CRM, or replace its settings (the token is typed again: it is never shown back)."""
    spec = next((crm for crm in sync.crm_providers() if crm.name == provider), None)
    if spec is None:
        raise sync.CrmConnectionNotFound(f"no CRM named {provider[:32]}")
    sent = await request.form()
    form = f"crm-{provider}"
    secrets = {f"setting-{f['name']}" for f in setting_fields(spec) if f["secret"]}
    values = {k: str(v)[:10_000] for k, v in sent.items() if k.startswith("setting-") and k not in secrets}

    async def write() -> str:
        config = sync.SyncConfig.from_settings(request.app.state.settings)
        await sync.connect(session, page.scope, provider=provider, settings=_settings(sent, spec), config=config)
        return saved("integracoes", "crm")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=form, values=values)


@router.post("/integracoes/crm/{provider}/desconectar")
async def disconnect_crm(provider: str, page: ManagerPage, session: DbSession) -> Response:
    await sync.disconnect(session, page.scope, provider=provider[:32])
    return RedirectResponse(saved("integracoes", "desconectada"), status_code=303)
