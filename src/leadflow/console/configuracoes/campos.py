"""Custom fields of leads, people and properties: list, add (with the options of a choice), edit the label, the
options and whether it is required (the key and type stay: stored values depend on them), and remove
(customfield.service does the work)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.customfield import service as fields
from leadflow.customfield.schemas import CustomFieldCreate, CustomFieldRead, CustomFieldUpdate
from leadflow.kit.web import DbSession
from leadflow.models import CustomFieldType

router = section_router()
Text = Annotated[str, Form(max_length=5000)]
# What each entity and type is called on the page (message ids of the console's catalog).
ENTITIES = {"lead": "Leads", "person": "People", "property": "Properties"}
TYPES = {
    CustomFieldType.TEXT: "Text",
    CustomFieldType.NUMBER: "Number",
    CustomFieldType.DATE: "Date",
    CustomFieldType.BOOLEAN: "Yes or no",
    CustomFieldType.SELECT: "Choice",
    CustomFieldType.MULTISELECT: "Multiple choice",
}


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    rows = [CustomFieldRead.model_validate(row) for row in await fields.list_fields(session, page.scope, entity=None)]
    return render_section(request, page, "campos", form=form, fields=rows, entities=ENTITIES, types=TYPES)


@router.get("/campos")
async def fields_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


def _options(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/campos")
async def create_field(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    entity: Text = "lead",
    key: Text = "",
    label: Text = "",
    kind: Annotated[str, Form(alias="type", max_length=20)] = "text",
    options: Text = "",
    required: Text = "",
) -> Response:
    async def write() -> str:
        sent = {
            "entity": entity,
            "key": key,
            "label": label,
            "type": kind,
            "options": _options(options),
            "required": required == "on",
        }
        await fields.create_field(session, page.scope, data=CustomFieldCreate.model_validate(sent))
        return saved("campos", "campo")

    values = {"entity": entity, "key": key, "label": label, "type": kind, "options": options}
    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="new-field", values=values)


@router.post("/campos/{field_id}")
async def edit_field(
    field_id: uuid.UUID,
    request: Request,
    page: ManagerPage,
    session: DbSession,
    label: Text = "",
    options: Text = "",
    required: Text = "",
) -> Response:
    field = CustomFieldRead.model_validate(await fields.get_field(session, page.scope, field_id=field_id))

    async def write() -> str:
        sent: dict[str, object] = {"label": label, "required": required == "on"}
        if field.type in (CustomFieldType.SELECT, CustomFieldType.MULTISELECT):
            sent["options"] = _options(options)
        await fields.update_field(session, page.scope, field_id=field_id, data=CustomFieldUpdate.model_validate(sent))
        return saved("campos", "campo")

    values = {"label": label, "options": options}
    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"field-{field_id}", values=values)


@router.post("/campos/{field_id}/remover")
async def delete_field(field_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await fields.delete_field(session, page.scope, field_id=field_id)
    return RedirectResponse(saved("campos", "campo"), status_code=303)
