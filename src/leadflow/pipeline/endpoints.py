"""The pipeline's API: why a lead went to whom, the tenant's rules, a team's roleta, duty and replays."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.kit.schemas import Page
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.pipeline import replay, rulesets, service, teams
from leadflow.pipeline.rules import RulesOutcome
from leadflow.pipeline.schemas import (
    DutyUpdate,
    ReplayReport,
    ReplayRequest,
    RoletaPreview,
    RoutingDecisionRead,
    RulePreview,
    RuleSetCreate,
    RuleSetRead,
    TeamRoleta,
    TeamRoletaRead,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/leads/{lead_id}/routing", tags=["leads"], summary="Why the lead went to whom")
async def lead_routing(lead_id: uuid.UUID, scope: Member, session: DbSession) -> list[RoutingDecisionRead]:
    records = await service.routing_of_lead(session, scope, lead_id=lead_id)
    return [RoutingDecisionRead.model_validate(record) for record in records]


@router.get("/rule-sets", tags=["rules"], summary="Rule set versions, newest first")
async def list_rule_sets(
    scope: Manager, session: DbSession, cursor: str | None = None, limit: Limit = 50
) -> Page[RuleSetRead]:
    rows, next_cursor = await rulesets.list_rule_sets(session, scope, cursor=cursor, limit=limit)
    return Page(items=[RuleSetRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/rule-sets", tags=["rules"], summary="Save the rules as a new version", status_code=status.HTTP_201_CREATED
)
async def create_rule_set(body: RuleSetCreate, scope: Manager, session: DbSession) -> RuleSetRead:
    row = await rulesets.save_rule_set(session, scope, rules=body.rules, note=body.note)
    return RuleSetRead.model_validate(row)


@router.get("/rule-sets/{version}", tags=["rules"], summary="One version of the rules")
async def get_rule_set(version: int, scope: Manager, session: DbSession) -> RuleSetRead:
    return RuleSetRead.model_validate(await rulesets.get_rule_set(session, scope, version=version))


@router.post("/rule-sets/preview", tags=["rules"], summary="Test rules against a sample lead")
async def preview_rules(body: RulePreview, scope: Manager, session: DbSession) -> RulesOutcome:
    rule_set = await rulesets.rules_to_preview(session, rules=body.rules)
    time_zone = await service.tenant_time_zone(session, scope)
    return service.preview_rules(rule_set, body.facts, now=body.at or utcnow(), tz=time_zone)


@router.get("/teams/{team_id}/roleta", tags=["roleta"], summary="A team's roleta: weights, capacity, shifts")
async def get_team_roleta(team_id: uuid.UUID, scope: Manager, session: DbSession) -> TeamRoletaRead:
    return await teams.get_team_roleta(session, scope, team_id=team_id)


@router.get(
    "/teams/{team_id}/roleta/preview", tags=["roleta"], summary="Who gets the team's next leads if they arrived now"
)
async def preview_team_roleta(
    team_id: uuid.UUID,
    scope: Manager,
    session: DbSession,
    count: Annotated[int, Query(ge=1, le=20, description="How many leads ahead")] = 5,
) -> RoletaPreview:
    time_zone = await service.tenant_time_zone(session, scope)
    return await teams.preview_roleta(session, scope, team_id=team_id, now=utcnow(), tz=time_zone, count=count)


@router.put("/teams/{team_id}/roleta", tags=["roleta"], summary="Configure a team's roleta")
async def set_team_roleta(team_id: uuid.UUID, body: TeamRoleta, scope: Manager, session: DbSession) -> TeamRoletaRead:
    return await teams.set_team_roleta(session, scope, team_id=team_id, data=body)


@router.put("/me/duty", tags=["roleta"], summary="Start or end my shift (plantão)")
async def set_my_duty(body: DutyUpdate, scope: Member, session: DbSession) -> DutyUpdate:
    await teams.set_my_duty(session, scope, on_duty=body.on_duty)
    return body


@router.post("/ops/replays", tags=["ops"], summary="Replay conversions through the current rules (dry run first)")
async def run_replay(body: ReplayRequest, scope: Manager, session: DbSession) -> ReplayReport:
    return await replay.replay(session, scope, request=body, now=utcnow())
