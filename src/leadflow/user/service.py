"""Users (owner, manager, broker, viewer) and teams of a tenant."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth.schemas import MeKey, MeRead, MeTenant, MeUser
from leadflow.kit.crypto import hash_password
from leadflow.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed, wording
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKey, Role, Team, TeamMember, User
from leadflow.tenant.service import TenantRef
from leadflow.user.repository import TeamRepository, UserRepository
from leadflow.user.schemas import TeamCreate, TeamRead, TeamUpdate, UserCreate, UserUpdate


class UserNotFound(NotFound):
    code = "user-not-found"
    title = "User not found"


class TeamNotFound(NotFound):
    code = "team-not-found"
    title = "Team not found"


def _check_may_grant(scope: Scope, role: Role) -> None:
    # Only an owner makes (or unmakes) owners; managers and admin keys manage everyone else.
    if role is Role.OWNER and scope.role != Role.OWNER.value:
        raise Forbidden("only an owner can grant or change the owner role")


async def create_user(session: AsyncSession, scope: Scope, *, data: UserCreate) -> User:
    _check_may_grant(scope, data.role)
    users = UserRepository(session)
    if await users.by_email(data.email, include_deleted=True):
        raise Conflict(
            wording("a user with e-mail %(email)s already exists (restore it if it was deleted)", email=data.email)
        )
    user = users.add(
        User(
            email=data.email,
            name=data.name,
            role=data.role,
            phone=data.phone,
            password_hash=hash_password(data.password) if data.password else None,
        )
    )
    await session.flush()
    for team_id in data.team_ids:
        await add_member(session, scope, team_id=team_id, user_id=user.id)
    return user


async def list_users(
    session: AsyncSession, scope: Scope, *, role: Role | None, q: str | None, cursor: str | None, limit: int
) -> tuple[list[User], str | None]:
    users = UserRepository(session)
    return await users.page(users.filtered(role=role, q=q), cursor=cursor, limit=limit)


async def get_user(session: AsyncSession, scope: Scope, *, user_id: uuid.UUID) -> User:
    return await UserRepository(session).get_or_raise(user_id, error=UserNotFound)


async def update_user(session: AsyncSession, scope: Scope, *, user_id: uuid.UUID, data: UserUpdate) -> User:
    user = await get_user(session, scope, user_id=user_id)
    if user.role is Role.OWNER or data.role is Role.OWNER:
        _check_may_grant(scope, Role.OWNER)
    changes = data.model_dump(exclude_unset=True)
    if user.id == scope.actor_id and changes.get("is_active") is False:
        # Deactivating oneself is deleting oneself by another door: it locks the manager out mid-session.
        raise ValidationFailed("you cannot deactivate yourself", errors=[{"field": "is_active"}])
    if "role" in changes or changes.get("is_active") is False:
        await _keep_an_owner(session, user, new_role=data.role, active=changes.get("is_active", True))
    if (password := changes.pop("password", None)) is not None:
        user.password_hash = hash_password(password)
    for field, value in changes.items():
        if value is None and field in ("name", "role", "is_active"):
            raise ValidationFailed(f"{field} cannot be null", errors=[{"field": field}])
        setattr(user, field, value)
    return user


async def _keep_an_owner(session: AsyncSession, user: User, *, new_role: Role | None, active: bool) -> None:
    leaves_owner = user.role is Role.OWNER and (new_role not in (None, Role.OWNER) or not active)
    if leaves_owner and await UserRepository(session).count_active_owners() <= 1:
        raise ValidationFailed("the tenant must keep at least one active owner", errors=[{"field": "role"}])


async def delete_user(session: AsyncSession, scope: Scope, *, user_id: uuid.UUID) -> None:
    user = await get_user(session, scope, user_id=user_id)
    if user.id == scope.actor_id:
        raise ValidationFailed("you cannot delete yourself", errors=[{"field": "id"}])
    if user.role is Role.OWNER:
        _check_may_grant(scope, Role.OWNER)
        await _keep_an_owner(session, user, new_role=None, active=False)
    user.deleted_at = utcnow()


async def restore_user(session: AsyncSession, scope: Scope, *, user_id: uuid.UUID) -> User:
    user = await UserRepository(session).get(user_id, include_deleted=True)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    user.deleted_at = None
    return user


async def describe_me(session: AsyncSession, scope: Scope, *, tenant: TenantRef) -> MeRead:
    tenant_out = MeTenant(
        id=tenant.id, slug=tenant.slug, name=tenant.name, time_zone=tenant.time_zone, locale=tenant.locale
    )
    assert scope.actor_id is not None
    if scope.actor_type == "api_key":
        key = await session.get_one(ApiKey, scope.actor_id)
        return MeRead(user=None, api_key=MeKey.model_validate(key), tenant=tenant_out)
    user = await get_user(session, scope, user_id=scope.actor_id)
    return MeRead(user=MeUser.model_validate(user), tenant=tenant_out, team_ids=sorted(scope.team_ids))


# Teams


async def _team_read(session: AsyncSession, teams: list[Team]) -> list[TeamRead]:
    members = await TeamRepository(session).member_ids([t.id for t in teams])
    return [
        TeamRead(
            id=t.id, name=t.name, member_ids=members.get(t.id, []), created_at=t.created_at, deleted_at=t.deleted_at
        )
        for t in teams
    ]


async def create_team(session: AsyncSession, scope: Scope, *, data: TeamCreate) -> TeamRead:
    teams = TeamRepository(session)
    if await teams.by_name(data.name):
        raise Conflict(wording("a team named %(name)s already exists", name=data.name))
    team = teams.add(Team(name=data.name))
    await session.flush()
    for user_id in data.member_ids:
        await add_member(session, scope, team_id=team.id, user_id=user_id)
    await session.flush()
    return (await _team_read(session, [team]))[0]


async def list_teams(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[TeamRead], str | None]:
    teams = TeamRepository(session)
    rows, next_cursor = await teams.page(teams.select(), cursor=cursor, limit=limit)
    return await _team_read(session, rows), next_cursor


async def _team(session: AsyncSession, team_id: uuid.UUID, *, include_deleted: bool = False) -> Team:
    return await TeamRepository(session).get_or_raise(team_id, include_deleted=include_deleted, error=TeamNotFound)


async def get_team(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID) -> TeamRead:
    return (await _team_read(session, [await _team(session, team_id)]))[0]


async def update_team(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID, data: TeamUpdate) -> TeamRead:
    team = await _team(session, team_id)
    if data.name is not None and data.name != team.name:
        if await TeamRepository(session).by_name(data.name):
            raise Conflict(wording("a team named %(name)s already exists", name=data.name))
        team.name = data.name
    await session.flush()
    return (await _team_read(session, [team]))[0]


async def delete_team(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID) -> None:
    """Soft delete; refused (409) while forms or channels still send their leads to the team's roleta: they would
    arrive with nobody to route them to."""
    team = await _team(session, team_id)
    sources = await TeamRepository(session).lead_sources(team.id)
    if sources:
        raise Conflict(
            wording(
                "team %(team)s still gets the leads of %(count)s forms or channels: send them to another team first",
                team=team.name,
                count=sources,
            )
        )
    team.deleted_at = utcnow()


async def restore_team(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID) -> TeamRead:
    team = await _team(session, team_id, include_deleted=True)
    team.deleted_at = None
    await session.flush()
    return (await _team_read(session, [team]))[0]


async def add_member(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await _team(session, team_id)
    await get_user(session, scope, user_id=user_id)
    teams = TeamRepository(session)
    if await teams.membership(team_id, user_id) is None:
        teams.session.add(TeamMember(team_id=team_id, user_id=user_id))
        await session.flush()


async def remove_member(session: AsyncSession, scope: Scope, *, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await _team(session, team_id)
    membership = await TeamRepository(session).membership(team_id, user_id)
    if membership is None:
        raise NotFound("that user is not a member of this team")
    await session.delete(membership)
