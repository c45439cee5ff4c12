"""Funnel configuration: pipelines (funis), their stages and allowed transitions, and loss reasons.

Every function takes ``(session, scope, *, ...)`` and never commits. Writes are for owners and managers (the
endpoints require ``Manager``). Stages are archived, not deleted, so the stage history that names them survives.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import Conflict, NotFound, ValidationFailed, Wording, wording
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.repository import (
    LeadRepository,
    LossReasonRepository,
    PipelineRepository,
    StageRepository,
    TransitionRepository,
)
from leadflow.lead.rules import Funnel, reordered
from leadflow.lead.schemas import (
    LossReasonCreate,
    PipelineCreate,
    PipelineRead,
    PipelineUpdate,
    StageCreate,
    StageRead,
    StageUpdate,
    TransitionRead,
    TransitionsPut,
)
from leadflow.models import Lead, LossReason, Pipeline, Stage, StageKind, StageTransition


class PipelineNotFound(NotFound):
    code = "pipeline-not-found"
    title = "Pipeline not found"


class StageNotFound(NotFound):
    code = "stage-not-found"
    title = "Stage not found"


class LossReasonNotFound(NotFound):
    code = "loss-reason-not-found"
    title = "Loss reason not found"


class ReferencedRowNotFound(NotFound):
    """An id in the body names nothing this actor can see (or another tenant's row): 404 naming the field."""

    code = "referenced-row-not-found"
    title = "Referenced row not found"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])


# Reading


async def read_pipelines(session: AsyncSession, pipelines: Sequence[Pipeline]) -> list[PipelineRead]:
    """Pipelines with their active stages and transitions: two queries however many pipelines."""
    ids = [p.id for p in pipelines]
    stages = await StageRepository(session).of_pipelines(ids)
    transitions = await TransitionRepository(session).of_pipelines(ids)
    return [
        PipelineRead(
            id=p.id,
            name=p.name,
            position=p.position,
            is_default=p.is_default,
            restrict_transitions=p.restrict_transitions,
            stages=[StageRead.model_validate(s) for s in stages.get(p.id, [])],
            transitions=[TransitionRead.model_validate(t) for t in transitions.get(p.id, [])],
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in pipelines
    ]


async def read_pipeline(session: AsyncSession, pipeline: Pipeline) -> PipelineRead:
    return (await read_pipelines(session, [pipeline]))[0]


async def list_pipelines(session: AsyncSession, scope: Scope) -> list[Pipeline]:
    """Every pipeline of the tenant in order (a tenant has a handful: no pagination needed)."""
    repo = PipelineRepository(session)
    return list(await repo.all(repo.ordered()))


async def get_pipeline(session: AsyncSession, scope: Scope, *, pipeline_id: uuid.UUID) -> Pipeline:
    return await PipelineRepository(session).get_or_raise(pipeline_id, error=PipelineNotFound)


async def default_pipeline(session: AsyncSession, scope: Scope) -> Pipeline:
    pipeline = await PipelineRepository(session).default()
    if pipeline is None:
        raise invalid("pipeline_id", "the tenant has no default pipeline: name one")
    return pipeline


async def load_funnel(session: AsyncSession, pipeline: Pipeline) -> Funnel:
    stages = await StageRepository(session).of_pipeline(pipeline.id)
    transitions = await TransitionRepository(session).of_pipeline(pipeline.id)
    allowed = frozenset((t.from_stage_id, t.to_stage_id) for t in transitions)
    return Funnel(pipeline=pipeline, stages={s.id: s for s in stages}, allowed=allowed)


async def get_stage(session: AsyncSession, scope: Scope, *, stage_id: uuid.UUID) -> Stage:
    stage = await StageRepository(session).get(stage_id)
    if stage is None or not stage.is_active:
        raise StageNotFound(f"stage {stage_id} not found")
    return stage


# Pipelines


async def create_pipeline(session: AsyncSession, scope: Scope, *, data: PipelineCreate) -> Pipeline:
    repo = PipelineRepository(session)
    await _ensure_name_free(repo, data.name)
    position = data.position if data.position is not None else await repo.next_position()
    pipeline = repo.add(Pipeline(name=data.name, position=position, restrict_transitions=data.restrict_transitions))
    await session.flush()
    if data.is_default or await repo.default() is None:
        await _make_default(repo, pipeline)
    for stage in data.stages:
        await add_stage(session, scope, pipeline_id=pipeline.id, data=stage)
    return pipeline


async def _ensure_name_free(repo: PipelineRepository, name: str, *, keep: uuid.UUID | None = None) -> None:
    existing = await repo.by_name(name)
    if existing is None or existing.id == keep:
        return
    taken = (
        wording("a deleted pipeline is named %(name)s", name=name)
        if existing.deleted_at
        else wording("a pipeline named %(name)s already exists", name=name)
    )
    raise Conflict(taken, errors=[{"field": "name", "message": "taken"}])


async def _make_default(repo: PipelineRepository, pipeline: Pipeline) -> None:
    for other in await repo.defaults_other_than(pipeline.id):
        other.is_default = False
    pipeline.is_default = True


async def update_pipeline(
    session: AsyncSession, scope: Scope, *, pipeline_id: uuid.UUID, data: PipelineUpdate
) -> Pipeline:
    repo = PipelineRepository(session)
    pipeline = await get_pipeline(session, scope, pipeline_id=pipeline_id)
    changes = data.model_dump(exclude_unset=True)
    nulls = [name for name in ("name", "restrict_transitions", "position") if name in changes and changes[name] is None]
    if nulls:
        raise invalid(nulls[0], "cannot be null")
    if "name" in changes:
        await _ensure_name_free(repo, changes["name"], keep=pipeline.id)
    if changes.pop("is_default", None):
        await _make_default(repo, pipeline)
    for name, value in changes.items():
        setattr(pipeline, name, value)
    return pipeline


async def delete_pipeline(session: AsyncSession, scope: Scope, *, pipeline_id: uuid.UUID) -> None:
    """Soft delete; refused for the default pipeline and for one that still holds leads (409)."""
    pipeline = await get_pipeline(session, scope, pipeline_id=pipeline_id)
    if pipeline.is_default:
        raise Conflict("this is the default pipeline: make another one the default first")
    holding = await LeadRepository(session).count_everywhere(Lead.pipeline_id == pipeline.id)
    if holding:
        raise Conflict(
            wording(
                "pipeline %(pipeline)s still holds %(count)s leads: move or delete them first",
                pipeline=pipeline.name,
                count=holding,
            )
        )
    pipeline.deleted_at = utcnow()


# Stages


async def add_stage(session: AsyncSession, scope: Scope, *, pipeline_id: uuid.UUID, data: StageCreate) -> Stage:
    await get_pipeline(session, scope, pipeline_id=pipeline_id)
    stages = await StageRepository(session).of_pipeline(pipeline_id)
    stage = StageRepository(session).add(
        Stage(
            pipeline_id=pipeline_id,
            name=data.name,
            position=len(stages),
            kind=data.kind,
            probability=data.probability,
            color=data.color,
            required_fields=data.required_fields,
        )
    )
    await session.flush()
    if data.position is not None:
        reordered([*stages, stage], stage, data.position)
    return stage


async def update_stage(session: AsyncSession, scope: Scope, *, stage_id: uuid.UUID, data: StageUpdate) -> Stage:
    stage = await get_stage(session, scope, stage_id=stage_id)
    changes = data.model_dump(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise invalid(nulls[0], "cannot be null")
    if "kind" in changes and changes["kind"] != stage.kind:
        await _refuse_if_holding(
            session,
            stage,
            wording(
                "cannot change the kind of stage %(stage)s: %(count)s leads are in it; move them first",
                stage=stage.name,
            ),
        )
    if (position := changes.pop("position", None)) is not None:
        reordered(await StageRepository(session).of_pipeline(stage.pipeline_id), stage, position)
    for name, value in changes.items():
        setattr(stage, name, value)
    return stage


async def delete_stage(session: AsyncSession, scope: Scope, *, stage_id: uuid.UUID) -> None:
    """Archive the stage (history keeps naming it) and drop its transitions; 409 while leads sit in it."""
    stage = await get_stage(session, scope, stage_id=stage_id)
    await _refuse_if_holding(
        session,
        stage,
        wording("cannot delete stage %(stage)s: %(count)s leads are in it; move them first", stage=stage.name),
    )
    for transition in await TransitionRepository(session).touching(stage.id):
        await session.delete(transition)
    stage.is_active = False
    remaining = [s for s in await StageRepository(session).of_pipeline(stage.pipeline_id) if s.id != stage.id]
    for index, other in enumerate(remaining):
        other.position = index


async def _refuse_if_holding(session: AsyncSession, stage: Stage, refusal: Wording) -> None:
    # A won stage keeps its won leads forever: changing its kind would silently change what they mean.
    holding = await LeadRepository(session).count_everywhere(Lead.stage_id == stage.id)
    if holding:
        raise Conflict(Wording(refusal.template, {**refusal.params, "count": holding}))


# Transitions


async def replace_transitions(
    session: AsyncSession, scope: Scope, *, pipeline_id: uuid.UUID, data: TransitionsPut
) -> Pipeline:
    """Replace the pipeline's allowed moves; every stage named must be one of its active stages."""
    pipeline = await get_pipeline(session, scope, pipeline_id=pipeline_id)
    await _check_transition_stages(session, pipeline, data)
    repo = TransitionRepository(session)
    for old in await repo.of_pipeline(pipeline.id):
        await session.delete(old)
    await session.flush()
    pairs = dict.fromkeys((t.from_stage_id, t.to_stage_id) for t in data.transitions)
    for from_id, to_id in pairs:
        repo.add(StageTransition(pipeline_id=pipeline.id, from_stage_id=from_id, to_stage_id=to_id))
    if data.restrict_transitions is not None:
        pipeline.restrict_transitions = data.restrict_transitions
    await session.flush()
    return pipeline


async def _check_transition_stages(session: AsyncSession, pipeline: Pipeline, data: TransitionsPut) -> None:
    own = {s.id for s in await StageRepository(session).of_pipeline(pipeline.id)}
    named = {i for t in data.transitions for i in (t.from_stage_id, t.to_stage_id)}
    known = await StageRepository(session).by_ids(list(named - own))
    for index, transition in enumerate(data.transitions):
        for side in ("from_stage_id", "to_stage_id"):
            stage_id = getattr(transition, side)
            if stage_id in own:
                continue
            field = f"transitions.{index}.{side}"
            if stage_id not in known:
                raise ReferencedRowNotFound(field, f"no such stage {stage_id}")
            raise invalid(field, f"not an active stage of pipeline {pipeline.name}")
        if transition.from_stage_id == transition.to_stage_id:
            raise invalid(f"transitions.{index}", "a stage cannot transition to itself")


# Loss reasons


async def list_loss_reasons(session: AsyncSession, scope: Scope) -> list[LossReason]:
    repo = LossReasonRepository(session)
    return list(await repo.all(repo.ordered()))


async def create_loss_reason(session: AsyncSession, scope: Scope, *, data: LossReasonCreate) -> LossReason:
    """A new reason; the name of a deleted one brings it back instead (names are unique in the tenant)."""
    repo = LossReasonRepository(session)
    existing = await repo.by_name(data.name)
    if existing is not None and existing.deleted_at is None:
        raise Conflict(
            wording("a loss reason named %(name)s already exists", name=data.name), errors=[{"field": "name"}]
        )
    if existing is not None:
        existing.deleted_at = None
        return existing
    reason = repo.add(LossReason(name=data.name))
    await session.flush()
    return reason


async def get_loss_reason(session: AsyncSession, scope: Scope, *, loss_reason_id: uuid.UUID) -> LossReason:
    return await LossReasonRepository(session).get_or_raise(loss_reason_id, error=LossReasonNotFound)


async def delete_loss_reason(session: AsyncSession, scope: Scope, *, loss_reason_id: uuid.UUID) -> None:
    """Soft delete: leads lost for it keep pointing at it; it is no longer offered."""
    reason = await get_loss_reason(session, scope, loss_reason_id=loss_reason_id)
    reason.deleted_at = utcnow()


# The defaults every tenant starts with


@dataclass(frozen=True, slots=True)
class StageDefault:
    name: str
    kind: StageKind
    probability: int
    color: str
    required_fields: tuple[str, ...] = ()


_OPENING = (
    StageDefault("Novo", StageKind.OPEN, 10, "#64748b"),
    StageDefault("Em atendimento", StageKind.OPEN, 20, "#3b82f6"),
    StageDefault("Visita agendada", StageKind.OPEN, 40, "#8b5cf6"),
)
DEFAULT_PIPELINES: dict[str, tuple[StageDefault, ...]] = {
    "Venda": (
        *_OPENING,
        StageDefault("Proposta", StageKind.OPEN, 70, "#f59e0b", ("property_id", "value_cents")),
        StageDefault("Ganho", StageKind.WON, 100, "#22c55e"),
        StageDefault("Perdido", StageKind.LOST, 0, "#ef4444"),
    ),
    "Locação": (
        *_OPENING,
        StageDefault("Proposta", StageKind.OPEN, 70, "#f59e0b"),
        StageDefault("Contrato", StageKind.WON, 100, "#22c55e"),
        StageDefault("Perdido", StageKind.LOST, 0, "#ef4444"),
    ),
}
DEFAULT_LOSS_REASONS = ("Preço", "Localização", "Comprou com outro", "Sem retorno", "Financiamento negado")


async def ensure_default_pipelines(session: AsyncSession, scope: Scope) -> None:
    """Give the tenant the "Venda" (default) and "Locação" pipelines and the common loss reasons.

    Idempotent: what exists by name is left alone, deleted rows included (a manager's deletion stands), and
    "Venda" becomes the default only when the tenant has none.
    """
    repo = PipelineRepository(session)
    for name, stages in DEFAULT_PIPELINES.items():
        if await repo.by_name(name) is not None:
            continue
        stage_data = [
            StageCreate(
                name=s.name,
                kind=s.kind,
                probability=s.probability,
                color=s.color,
                required_fields=list(s.required_fields),
            )
            for s in stages
        ]
        await create_pipeline(session, scope, data=PipelineCreate(name=name, stages=stage_data))
    reasons = LossReasonRepository(session)
    for reason in DEFAULT_LOSS_REASONS:
        if await reasons.by_name(reason) is None:
            reasons.add(LossReason(name=reason))
    await session.flush()
