"""The funnel's rules as pure functions: may this lead enter that stage? No database, no session.

A move is refused, in this order, when the stage belongs to another pipeline, when the pipeline restricts
transitions and this one is not configured, when the stage requires lead fields that are empty, or when it is a
lost stage and no loss reason is given. Each refusal is a 422 whose ``detail`` names the rule and whose
``errors`` name the fields, so one check serves a single move and a bulk move's per-lead report alike.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from leadflow.kit.errors import ValidationFailed, wording
from leadflow.models import Lead, Pipeline, Stage, StageKind

# Lead fields a stage may require; custom fields are named "custom_fields.<key>".
REQUIRABLE_FIELDS = frozenset(
    {
        "title",
        "value_cents",
        "temperature",
        "property_id",
        "development_id",
        "owner_id",
        "team_id",
        "source",
        "channel",
        "utm_campaign",
        "next_follow_up_at",
    }
)
CUSTOM_FIELD_REQUIREMENT = re.compile(r"^custom_fields\.[a-z][a-z0-9_]{0,59}$")
EMPTY: tuple[Any, ...] = (None, "", [], {})


class StageOfAnotherPipeline(ValidationFailed):
    code = "stage-of-another-pipeline"
    title = "Stage of another pipeline"


class TransitionNotAllowed(ValidationFailed):
    code = "stage-transition-not-allowed"
    title = "Stage transition not allowed"


class StageRequirementsMissing(ValidationFailed):
    code = "stage-requirements-missing"
    title = "Stage requirements missing"


class LossReasonRequired(ValidationFailed):
    code = "loss-reason-required"
    title = "Loss reason required"


@dataclass(frozen=True, slots=True)
class Funnel:
    """A pipeline with its stages and configured transitions: what a move is checked against."""

    pipeline: Pipeline
    stages: dict[uuid.UUID, Stage]
    allowed: frozenset[tuple[uuid.UUID, uuid.UUID]]

    def stage_name(self, stage_id: uuid.UUID) -> str:
        stage = self.stages.get(stage_id)
        return stage.name if stage else str(stage_id)


def is_requirable(name: str) -> bool:
    return name in REQUIRABLE_FIELDS or CUSTOM_FIELD_REQUIREMENT.match(name) is not None


def missing_requirements(lead: Lead, stage: Stage) -> list[str]:
    """The fields ``stage`` requires that ``lead`` leaves empty, in the stage's order."""
    return [name for name in stage.required_fields if _value_of(lead, name) in EMPTY]


def _value_of(lead: Lead, name: str) -> Any:
    if name.startswith("custom_fields."):
        return lead.custom_fields.get(name.removeprefix("custom_fields."))
    return getattr(lead, name, None)


def check_move(
    lead: Lead, target: Stage, funnel: Funnel, *, loss_reason_id: uuid.UUID | None
) -> ValidationFailed | None:
    """Why ``lead`` may not move to ``target`` (the error to raise or report), or None when it may."""
    if target.pipeline_id != funnel.pipeline.id:
        return other_pipeline_refusal(target, funnel)
    return _refuse_transition(lead, target, funnel) or check_entry(lead, target, loss_reason_id=loss_reason_id)


def other_pipeline_refusal(target: Stage, funnel: Funnel) -> ValidationFailed:
    return StageOfAnotherPipeline(
        wording("stage %(stage)s is not in pipeline %(pipeline)s", stage=target.name, pipeline=funnel.pipeline.name),
        errors=[{"field": "stage_id", "message": f"belongs to another pipeline than {funnel.pipeline.name}"}],
    )


def check_entry(lead: Lead, target: Stage, *, loss_reason_id: uuid.UUID | None) -> ValidationFailed | None:
    """What the stage itself demands of whoever enters it, a new lead included: its required fields, and a
    loss reason for a lost stage."""
    refusal = requirements_refusal(lead, target)
    if refusal is None and target.kind is StageKind.LOST and loss_reason_id is None:
        return LossReasonRequired(
            wording("stage %(stage)s is a lost stage: give a loss_reason_id", stage=target.name),
            errors=[{"field": "loss_reason_id", "message": f"required to enter stage {target.name}"}],
        )
    return refusal


def _refuse_transition(lead: Lead, target: Stage, funnel: Funnel) -> ValidationFailed | None:
    if not funnel.pipeline.restrict_transitions or (lead.stage_id, target.id) in funnel.allowed:
        return None
    source = funnel.stage_name(lead.stage_id)
    return TransitionNotAllowed(
        wording(
            "pipeline %(pipeline)s does not allow moving from %(source)s to %(target)s",
            pipeline=funnel.pipeline.name,
            source=source,
            target=target.name,
        ),
        errors=[{"field": "stage_id", "message": f"{source} → {target.name} is not an allowed transition"}],
    )


def requirements_refusal(lead: Lead, stage: Stage) -> ValidationFailed | None:
    """The 422 for a lead that lacks fields ``stage`` requires (on entering it, or on clearing them there)."""
    missing = missing_requirements(lead, stage)
    if not missing:
        return None
    return StageRequirementsMissing(
        wording("stage %(stage)s requires %(fields)s", stage=stage.name, fields=", ".join(missing)),
        errors=[{"field": name, "message": f"required in stage {stage.name}"} for name in missing],
    )


def first_open_stage(stages: Collection[Stage]) -> Stage | None:
    """Where a new lead starts when no stage is named: the first active open stage."""
    candidates = [s for s in stages if s.is_active and s.kind is StageKind.OPEN]
    return min(candidates, key=lambda s: (s.position, s.created_at), default=None)


def reordered(stages: list[Stage], moved: Stage, position: int) -> None:
    """Put ``moved`` at ``position`` (clamped) among the pipeline's active ``stages`` and renumber them 0..n-1."""
    others = [s for s in sorted(stages, key=lambda s: (s.position, s.created_at)) if s.id != moved.id]
    others.insert(max(0, min(position, len(others))), moved)
    for index, stage in enumerate(others):
        stage.position = index
