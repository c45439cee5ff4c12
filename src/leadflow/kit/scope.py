"""The tenant scope: one mechanism that confines every ORM query and write to one tenant.

A session carries a :class:`Scope` in ``session.info["scope"]``. On every ORM statement the scope adds
``tenant_id = <scope tenant>`` for each :class:`TenantScoped` entity (joins, subqueries and relationship
loads included), hides soft-deleted rows, and applies per-model visibility rules (a broker sees their own
leads). A flush that would write another tenant's row raises. A statement on a tenant table with no scope
raises: the mechanism fails closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from leadflow.kit.errors import LeadflowError
from leadflow.kit.ids import new_id
from leadflow.kit.orm import Base, SoftDeletable, TenantScoped


class UnscopedAccess(LeadflowError):
    status = 500
    code = "unscoped-access"
    title = "Internal scope error"


class CrossTenantWrite(LeadflowError):
    status = 404
    code = "not-found"
    title = "Not found"


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is acting, for which tenant. Built in one place per request or task."""

    tenant_id: uuid.UUID | None
    actor_type: str = "system"  # "user", "api_key" or "system"
    actor_id: uuid.UUID | None = None
    role: str | None = None
    key_scopes: frozenset[str] = frozenset()
    team_ids: frozenset[uuid.UUID] = frozenset()
    # The tenant's settings as resolved with its host (e.g. whether brokers see the unassigned pool).
    tenant_settings: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_system(self) -> bool:
        return self.tenant_id is None

    @classmethod
    def system(cls) -> Scope:
        """Cross-tenant access for the CLI and tenant provisioning only; every write must set tenant_id."""
        return cls(tenant_id=None)

    @classmethod
    def for_tenant(cls, tenant_id: uuid.UUID) -> Scope:
        """A background job acting for one tenant (seeding, workers)."""
        return cls(tenant_id=tenant_id, actor_type="system")


VisibilityRule = Callable[[Scope], ColumnElement[bool] | None]
_visibility_rules: dict[type[Any], VisibilityRule] = {}


def register_visibility(model: type[Any], rule: VisibilityRule) -> None:
    """Narrow what a scope may see of ``model`` beyond its tenant (e.g. a broker's own leads)."""
    _visibility_rules[model] = rule


def get_scope(session: Session) -> Scope | None:
    scope = session.info.get("scope")
    return scope if isinstance(scope, Scope) else None


def set_scope(session: Any, scope: Scope) -> None:
    """Bind a scope to a (sync or async) session. Rebinding to another tenant is refused."""
    current = session.info.get("scope")
    if isinstance(current, Scope) and not current.is_system and current.tenant_id != scope.tenant_id:
        raise CrossTenantWrite("a session cannot change tenant")
    session.info["scope"] = scope


def _touches_tenant_rows(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


# Built once, not per statement: building a criteria option analyses its lambda, which cost more than the rest
# of this hook (measured on the conversion handler).
_NOT_DELETED = with_loader_criteria(SoftDeletable, lambda cls: cls.deleted_at.is_(None), include_aliases=True)


@lru_cache(maxsize=1024)
def _of_tenant(tenant_id: uuid.UUID | None) -> Any:
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


@event.listens_for(Session, "do_orm_execute")
def _confine_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = get_scope(state.session)
    if scope is None:
        if _touches_tenant_rows(state):
            raise UnscopedAccess("query on a tenant table without a scope")
        return
    options: list[Any] = []
    if not state.execution_options.get("include_deleted", False):
        options.append(_NOT_DELETED)
    # A lookup by a unique secret (an API key) must find the row of any tenant to answer "wrong host" as 404.
    if not scope.is_system and not state.execution_options.get("cross_tenant_lookup", False):
        options.append(_of_tenant(scope.tenant_id))
        if not state.execution_options.get("skip_visibility", False):
            for model, rule in _visibility_rules.items():
                criterion = rule(scope)
                if criterion is not None:
                    options.append(with_loader_criteria(model, criterion, include_aliases=True))
    if options:
        state.statement = state.statement.options(*options)


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    scope = get_scope(session)
    for obj in session.new:
        if isinstance(obj, Base) and obj.id is None:
            obj.id = new_id()  # ids are needed before the insert, e.g. by the audit log
        if isinstance(obj, TenantScoped):
            _check_new_row(scope, obj)
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, TenantScoped):
            _check_existing_row(scope, obj)


def _check_new_row(scope: Scope | None, obj: TenantScoped) -> None:
    if scope is None:
        raise UnscopedAccess(f"write of {type(obj).__name__} without a scope")
    if scope.is_system:
        if obj.tenant_id is None:
            raise UnscopedAccess(f"system write of {type(obj).__name__} without tenant_id")
        return
    if obj.tenant_id is None:
        obj.tenant_id = scope.tenant_id
    elif obj.tenant_id != scope.tenant_id:
        raise CrossTenantWrite("write to another tenant refused")


def _check_existing_row(scope: Scope | None, obj: TenantScoped) -> None:
    if scope is None:
        raise UnscopedAccess(f"write of {type(obj).__name__} without a scope")
    if not scope.is_system and obj.tenant_id != scope.tenant_id:
        raise CrossTenantWrite("write to another tenant refused")
