"""Who sees which leads, enforced where tenancy is (``kit.scope``), so no endpoint or query can forget it.

- broker: the leads they own; with the tenant setting ``lead_pool_open`` also the unassigned ones (the pool).
- manager: the leads of their teams (``team_id`` one of theirs, or owned by a member of one of them), their own,
  and the unrouted inbox (no owner and no team), which is theirs to distribute.
- owner, viewer, API keys and background jobs: every lead of the tenant.

Everything that reads leads through the session obeys it, subqueries included: the activity feature's rule
(``lead_id IN (SELECT id FROM leads)``) inherits it, and so do matching and the timeline.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from leadflow.kit.scope import Scope, register_visibility
from leadflow.models import Lead, Role, TeamMember

POOL_SETTING = "lead_pool_open"


def _unassigned() -> ColumnElement[bool]:
    return Lead.owner_id.is_(None)


def _broker_sees(scope: Scope) -> ColumnElement[bool]:
    own = Lead.owner_id == scope.actor_id
    return or_(own, _unassigned()) if scope.tenant_settings.get(POOL_SETTING) is True else own


def _manager_sees(scope: Scope) -> ColumnElement[bool]:
    clauses = [Lead.owner_id == scope.actor_id, and_(_unassigned(), Lead.team_id.is_(None))]
    if scope.team_ids:
        teams = sorted(scope.team_ids)
        members = select(TeamMember.user_id).where(TeamMember.team_id.in_(teams))
        clauses += [Lead.team_id.in_(teams), Lead.owner_id.in_(members)]
    return or_(*clauses)


def leads_visible_to(scope: Scope) -> ColumnElement[bool] | None:
    """The criterion a scope's lead queries get; None for those who see every lead of the tenant."""
    if scope.actor_type != "user":
        return None
    if scope.role == Role.BROKER.value:
        return _broker_sees(scope)
    if scope.role == Role.MANAGER.value:
        return _manager_sees(scope)
    return None


register_visibility(Lead, leads_visible_to)
