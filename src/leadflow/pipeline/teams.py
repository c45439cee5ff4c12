"""A team's roleta settings: each member's weight, capacity, shifts, groups and presence, and the team's SLA."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import NotFound, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.models import Team, TeamMember, User
from leadflow.pipeline.repository import RosterRepository
from leadflow.pipeline.roleta import upcoming
from leadflow.pipeline.routing import load_roster
from leadflow.pipeline.schemas import (
    MemberRoleta,
    MemberRoletaRead,
    NextLead,
    RoletaPreview,
    TeamRoleta,
    TeamRoletaRead,
)
from leadflow.user.repository import TeamRepository


class TeamNotFound(NotFound):
    pass


async def get_team_roleta(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID) -> TeamRoletaRead:
    roster = RosterRepository(session)
    team = await TeamRepository(session).get_or_raise(team_id, error=TeamNotFound)
    return _read(team, await roster.members(team_id))


async def preview_roleta(
    session: AsyncSession, scope: Scope, *, team_id: uuid.UUID, now: datetime, tz: str, count: int = 5
) -> RoletaPreview:
    """Who would get the team's next ``count`` leads now (duty, shifts, capacity, weights and today's assignments
    as stored); reads only — nothing is assigned, recorded or locked."""
    roster = await load_roster(session, team_id, now=now, tz=tz, listing_broker_id=None, lock=False)
    if roster is None:
        raise TeamNotFound(f"team {team_id} not found")
    decisions = upcoming(roster.candidates, roster.state, now=now, tz=tz, count=count)
    next_leads = [
        NextLead(
            position=index,
            user_id=decision.assignee_id,
            name=decision.assignee_name,
            step=decision.step.value if decision.step else None,
            why=decision.why,
        )
        for index, decision in enumerate(decisions, start=1)
    ]
    return RoletaPreview(team_id=team_id, at=now, next_leads=next_leads)


async def set_team_roleta(
    session: AsyncSession, scope: Scope, *, team_id: uuid.UUID, data: TeamRoleta
) -> TeamRoletaRead:
    """Only what is sent changes: the team's SLA settings when given, and for each member named the settings given;
    a member not named keeps theirs. Naming a non-member is a 422."""
    roster = RosterRepository(session)
    team = await TeamRepository(session).get_or_raise(team_id, error=TeamNotFound)
    for name, value in data.model_dump(include={"sla_minutes", "max_reroutes"}, exclude_unset=True).items():
        setattr(team, name, value)
    members = {member.user_id: member for member, _ in await roster.members(team_id)}
    errors = [
        {"field": f"members.{index}.user_id", "message": "not a member of this team"}
        for index, wanted in enumerate(data.members)
        if wanted.user_id not in members
    ]
    if errors:
        raise ValidationFailed("only the team's members can be configured", errors=errors)
    for wanted in data.members:
        _apply(members[wanted.user_id], wanted)
    await session.flush()
    return _read(team, await roster.members(team_id))


async def set_my_duty(session: AsyncSession, scope: Scope, *, on_duty: bool) -> int:
    """A broker starts or ends their shift (plantão) in every team they belong to; returns how many teams."""
    if scope.actor_id is None:
        raise ValidationFailed("only a signed-in user has a duty status")
    memberships = await RosterRepository(session).memberships(scope.actor_id)
    for member in memberships:
        member.on_duty = on_duty
    return len(memberships)


def _apply(member: TeamMember, wanted: MemberRoleta) -> None:
    # Settings left out keep their value: a manager changing a weight must not put a broker who went off duty back
    # on duty, nor drop their groups and shifts.
    sent = wanted.model_fields_set
    for name in ("weight", "capacity", "on_duty"):
        if name in sent:
            setattr(member, name, getattr(wanted, name))
    if "routing_groups" in sent:
        member.routing_groups = sorted(set(wanted.routing_groups))
    if "working_hours" in sent:
        member.working_hours = (
            None
            if wanted.working_hours is None
            else {
                day.value: [shift.model_dump(mode="json") for shift in shifts]
                for day, shifts in wanted.working_hours.items()
            }
        )


def _read(team: Team, members: list[tuple[TeamMember, User]]) -> TeamRoletaRead:
    return TeamRoletaRead(
        team_id=team.id,
        name=team.name,
        sla_minutes=team.sla_minutes,
        max_reroutes=team.max_reroutes,
        members=[
            MemberRoletaRead(
                user_id=user.id,
                name=user.name,
                role=user.role.value,
                weight=member.weight,
                capacity=member.capacity,
                on_duty=member.on_duty,
                working_hours=member.working_hours,
                routing_groups=list(member.routing_groups or []),
            )
            for member, user in members
        ],
    )
