"""Importing leads: each line's person is found by e-mail, phone or CPF (or created from the line), the pipeline
and stage are found by name (default: the default pipeline's first open stage), the owner by user e-mail.

A person who already has an open lead in that pipeline makes the line a duplicate (mode create), or that lead is
updated (mode upsert: title, value, temperature, source, channel, campaign, tags joined, custom fields). An import
never moves or reassigns an existing lead: moves and assignments have their own rules and history.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.dataimport.custom import custom_values
from leadflow.dataimport.lookups import user_by_email
from leadflow.dataimport.mapping import FieldSpec, synonym_table
from leadflow.dataimport.people import (
    PERSON_FIELDS,
    PERSON_SYNONYMS,
    PersonDraft,
    create_from_draft,
    matching_people,
    read_person_draft,
    single_match,
)
from leadflow.dataimport.repository import LeadLookup
from leadflow.dataimport.rows import (
    Cell,
    Change,
    ImportContext,
    MappedRow,
    Outcome,
    RowErrors,
    RowInvalid,
    RowResult,
    errors_of,
    jsonable,
)
from leadflow.dataimport.values import BadValue, choice_key, parse_brl_cents, parse_choice, parse_list
from leadflow.kit.errors import Forbidden, NotFound, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.funnel import default_pipeline, list_loss_reasons, list_pipelines, load_funnel
from leadflow.lead.rules import Funnel, first_open_stage
from leadflow.lead.schemas import LeadCreate, LeadUpdate
from leadflow.lead.service import LeadNotFound, create_lead, update_lead
from leadflow.models import ImportedRow, Lead, LossReason, Person, Pipeline, Stage, Temperature
from leadflow.models.dataimport import ImportMode

ENTITY_TYPE = "lead"
PERSON_PART = ("name", "email", "phone", "cpf_cnpj")
LEAD_FIELDS: dict[str, FieldSpec] = {
    **{name: PERSON_FIELDS[name] for name in PERSON_PART},
    "pipeline": FieldSpec("Pipeline name (default: the default pipeline)"),
    "stage": FieldSpec("Stage name in that pipeline (default: its first open stage)"),
    "owner": FieldSpec("E-mail of the broker who owns the lead, a user of this account"),
    "value": FieldSpec("Expected deal value in reais: R$ 650.000,00"),
    "temperature": FieldSpec("frio, morno or quente"),
    "title": FieldSpec("Title"),
    "source": FieldSpec("Source (origem): site, portal_zap, indicação, …"),
    "channel": FieldSpec("Channel group"),
    "campaign": FieldSpec("Campaign (utm_campaign)"),
    "tags": FieldSpec("Tags separated by , | or ;", many=True),
    "loss_reason": FieldSpec("Loss reason name, for a lead imported into a lost stage"),
}
LEAD_SYNONYMS = {
    **{key: target for key, target in PERSON_SYNONYMS.items() if target in PERSON_PART},
    **synonym_table(
        {
            "pipeline": ["funil", "funil de vendas", "pipeline de vendas"],
            "stage": ["etapa", "fase", "estagio", "etapa do funil", "etapa atual"],
            "owner": ["corretor", "responsavel", "email do corretor", "corretor responsavel", "vendedor", "atendente"],
            "value": ["valor", "valor do negocio", "valor estimado", "orcamento", "valor (r$)"],
            "temperature": ["temperatura"],
            "title": ["titulo", "assunto"],
            "source": ["origem", "fonte", "midia", "origem do lead"],
            "channel": ["canal"],
            "campaign": ["campanha", "utm_campaign", "utm campaign", "campanha utm"],
            "tags": ["etiquetas", "marcadores", "tag"],
            "loss_reason": ["motivo de perda", "motivo da perda", "motivo"],
        }
    ),
}
TEMPERATURE_WORDS = {"frio": "frio", "cold": "frio", "morno": "morno", "warm": "morno", "quente": "quente"}
TEMPERATURE_WORDS |= {"hot": "quente"}
TEXT_FIELDS = {"title": "title", "source": "source", "channel": "channel", "campaign": "utm_campaign"}
# What an upsert may change on an existing lead, and so what a revert puts back.
UPDATABLE = ("title", "value_cents", "temperature", "source", "channel", "utm_campaign", "tags", "custom_fields")


async def _pipeline(ctx: ImportContext, cell: Cell | None) -> Pipeline:
    if cell is None:
        pipeline: Pipeline = await ctx.cached("pipeline", "", lambda: default_pipeline(ctx.session, ctx.scope))
        return pipeline
    pipelines: list[Pipeline] = await ctx.cached("pipelines", "", lambda: list_pipelines(ctx.session, ctx.scope))
    for pipeline in pipelines:
        if choice_key(pipeline.name) == choice_key(cell.value):
            return pipeline
    raise BadValue(f"no pipeline named {cell.value!r} (pipelines: {', '.join(p.name for p in pipelines)})")


async def _stage(ctx: ImportContext, funnel: Funnel, cell: Cell | None) -> Stage:
    stages = [s for s in funnel.stages.values() if s.is_active]
    if cell is None:
        first = first_open_stage(stages)
        if first is None:
            raise BadValue(f"pipeline {funnel.pipeline.name} has no open stage")
        return first
    for stage in sorted(stages, key=lambda s: s.position):
        if choice_key(stage.name) == choice_key(cell.value):
            return stage
    names = ", ".join(s.name for s in sorted(stages, key=lambda s: s.position))
    raise BadValue(f"no stage named {cell.value!r} in pipeline {funnel.pipeline.name} (stages: {names})")


async def _loss_reason(ctx: ImportContext, cell: Cell) -> uuid.UUID:
    reasons: list[LossReason] = await ctx.cached("loss_reasons", "", lambda: list_loss_reasons(ctx.session, ctx.scope))
    for reason in reasons:
        if choice_key(reason.name) == choice_key(cell.value):
            return reason.id
    raise BadValue(f"no loss reason named {cell.value!r}")


async def _placement(ctx: ImportContext, row: MappedRow, errors: RowErrors) -> tuple[Pipeline, Stage] | None:
    """Pipeline and stage by name; an error naming the column when one is unknown."""
    pipeline_cell, stage_cell = row.first("pipeline"), row.first("stage")
    try:
        pipeline = await _pipeline(ctx, pipeline_cell)
    except (BadValue, ValidationFailed) as exc:
        errors.add(row.column_for("pipeline"), exc.detail if isinstance(exc, ValidationFailed) else str(exc))
        return None
    funnel: Funnel = await ctx.cached("funnel", str(pipeline.id), lambda: load_funnel(ctx.session, pipeline))
    try:
        return pipeline, await _stage(ctx, funnel, stage_cell)
    except BadValue as exc:
        errors.add(row.column_for("stage"), str(exc))
        return None


async def _lead_values(ctx: ImportContext, row: MappedRow, errors: RowErrors) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, target in TEXT_FIELDS.items():
        if (cell := row.first(name)) is not None:
            values[target], origins[target] = cell.value, cell.column
    if (cell := row.first("value")) is not None:
        origins["value_cents"] = cell.column
        values["value_cents"] = errors.read(cell, parse_brl_cents)
    if (cell := row.first("temperature")) is not None:
        origins["temperature"] = cell.column
        values["temperature"] = errors.read(
            cell, lambda raw: Temperature(parse_choice(raw, TEMPERATURE_WORDS, what="temperature"))
        )
    if tags := [t for cell in row.every("tags") for t in parse_list(cell.value)]:
        values["tags"], origins["tags"] = list(dict.fromkeys(tags)), row.column_for("tags")
    if (owner := await user_by_email(ctx, row.first("owner"), errors)) is not None:
        values["owner_id"], origins["owner_id"] = owner, row.column_for("owner")
    if (cell := row.first("loss_reason")) is not None:
        origins["loss_reason_id"] = cell.column
        try:
            values["loss_reason_id"] = await _loss_reason(ctx, cell)
        except BadValue as exc:
            errors.add(cell.column, str(exc))
    custom, custom_origins = await custom_values(ctx, row, ENTITY_TYPE, errors)
    if custom:
        values["custom_fields"] = custom
    return {k: v for k, v in values.items() if v is not None}, {**origins, **custom_origins}


class LeadsImporter:
    fields = LEAD_FIELDS
    synonyms = LEAD_SYNONYMS
    custom_field_entity = ENTITY_TYPE

    async def import_row(self, ctx: ImportContext, row: MappedRow) -> RowResult:
        errors = RowErrors()
        draft = await read_person_draft(ctx, row, errors)
        placement = await _placement(ctx, row, errors)
        values, origins = await _lead_values(ctx, row, errors)
        errors.raise_if_any()
        if placement is None:  # not reached: a line without a placement has an error already
            raise RowInvalid(errors.errors)
        pipeline, stage = placement
        origins |= {"pipeline_id": row.column_for("pipeline"), "stage_id": row.column_for("stage")}
        matches = await matching_people(ctx, draft) if draft.has_identity else []
        person = single_match(matches) if matches else None
        if person is not None and (open_lead := await LeadLookup(ctx.session).open_lead(person.id, pipeline.id)):
            if ctx.mode is ImportMode.CREATE:
                return RowResult.duplicate(open_lead.id)
            return await _update(ctx, open_lead, values, origins)
        created: list[Change] = []
        if person is None:
            person = await _new_person(ctx, row, draft)
            created.append(Change("person", person.id, "created"))
        lead = await _create(ctx, person, pipeline, stage, values, origins)
        return RowResult.created(ENTITY_TYPE, lead.id, *created)


async def _new_person(ctx: ImportContext, row: MappedRow, draft: PersonDraft) -> Person:
    if draft.name is None:
        message = "empty: no person matches this line's e-mail, phone or CPF, and a new person needs a name"
        raise RowInvalid([{"field": row.column_for("name"), "message": message}])
    return await create_from_draft(ctx, draft)


async def _create(
    ctx: ImportContext,
    person: Person,
    pipeline: Pipeline,
    stage: Stage,
    values: dict[str, Any],
    origins: dict[str, str],
) -> Lead:
    try:
        data = LeadCreate.model_validate(
            {**values, "person_id": person.id, "pipeline_id": pipeline.id, "stage_id": stage.id}
        )
        return await create_lead(ctx.session, ctx.scope, data=data)
    except (ValidationError, ValidationFailed, NotFound, Forbidden) as exc:
        raise RowInvalid(errors_of(exc, origins)) from exc


async def _update(ctx: ImportContext, lead: Lead, values: dict[str, Any], origins: dict[str, str]) -> RowResult:
    changes = _differences(lead, values)
    if not changes:
        return RowResult.duplicate(lead.id)
    before = {name: getattr(lead, name) for name in changes if name != "custom_fields"}
    if "custom_fields" in changes:
        before["custom_fields"] = {key: lead.custom_fields.get(key) for key in changes["custom_fields"]}
    try:
        await update_lead(ctx.session, ctx.scope, lead_id=lead.id, data=LeadUpdate.model_validate(changes))
    except LeadNotFound as exc:
        message = "this person's open lead in the pipeline belongs to a team you do not manage"
        raise RowInvalid([{"field": None, "message": message}]) from exc
    except (ValidationError, ValidationFailed, NotFound, Forbidden) as exc:
        raise RowInvalid(errors_of(exc, origins)) from exc
    return RowResult(Outcome.UPDATED, lead.id, (Change(ENTITY_TYPE, lead.id, "updated", jsonable(before)),))


def _differences(lead: Lead, values: dict[str, Any]) -> dict[str, Any]:
    changes = {name: values[name] for name in UPDATABLE if name in values and values[name] != getattr(lead, name)}
    if "tags" in changes:  # tags are joined, never dropped by an import
        changes["tags"] = list(dict.fromkeys([*lead.tags, *changes["tags"]]))
    if "custom_fields" in changes:
        changes["custom_fields"] = {k: v for k, v in changes["custom_fields"].items() if lead.custom_fields.get(k) != v}
    return {name: value for name, value in changes.items() if value != getattr(lead, name) and value != {}}


async def revert_lead(session: AsyncSession, scope: Scope, imported: ImportedRow) -> None:
    """Soft-delete a lead the import created, or put back the fields it overwrote.

    Works on the lead whoever may see it now (the import made it; a later reassignment must not make the revert
    skip it), like a merge moves rows; the tenant wall still applies.
    """
    lead = await LeadLookup(session).for_revert(imported.entity_id)
    if lead is None or lead.deleted_at is not None:
        return
    if imported.action == "created":
        lead.deleted_at = utcnow()
        return
    before = dict(imported.before)
    if "custom_fields" in before:
        merged = {**lead.custom_fields, **before.pop("custom_fields")}
        lead.custom_fields = {key: value for key, value in merged.items() if value is not None}
    if "temperature" in before and before["temperature"] is not None:
        before["temperature"] = Temperature(before["temperature"])
    for name, value in before.items():
        setattr(lead, name, value)
