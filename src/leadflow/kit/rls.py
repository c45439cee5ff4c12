"""Row-level security, the session side: the second wall behind the scope (PostgreSQL only).

Migration 0007 makes PostgreSQL itself refuse another tenant's rows: every tenant table has FORCE ROW LEVEL
SECURITY and a policy ``tenant_id = current_setting('app.tenant_id')``. This module tells PostgreSQL who is
acting: at the start of every transaction, and again whenever the session's scope changes within it, it runs
``set_config('app.tenant_id', <scope tenant>, true)`` and ``set_config('app.system', 'on'|'off', true)``. Both
are transaction-local (``SET LOCAL``): a connection that goes back to the pool carries no tenant into the next
transaction, and a session with no scope sees no tenant row at all.

The system scope (CLI, demo seed, the bus claim) sets ``app.system = on``, which the ``system_scope`` policy
honours only for members of ``leadflow_system``. A statement marked ``cross_tenant_lookup`` (finding an API key
by its hash, a tenant by its host, before knowing whose it is) runs alone with ``app.system = on``, and the
tenant setting is restored right after it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from leadflow.kit.scope import get_scope

_APPLIED = "rls_applied"
_SET = text("SELECT set_config('app.tenant_id', :tenant, true), set_config('app.system', :system, true)")

Setting = tuple[str, str]  # (app.tenant_id, app.system)


def wanted_setting(session: Session) -> Setting:
    """What the database must be told for the session's current scope."""
    scope = get_scope(session)
    if scope is None:
        return ("", "off")
    if scope.is_system:
        return ("", "on")
    return (str(scope.tenant_id), "off")


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _apply(session: Session, connection: Connection, setting: Setting) -> None:
    connection.execute(_SET, {"tenant": setting[0], "system": setting[1]})
    session.info[_APPLIED] = setting


def _sync(session: Session) -> Connection:
    """Bring the transaction's settings in line with the scope (one round trip, only when they differ)."""
    connection = session.connection()
    setting = wanted_setting(session)
    if session.info.get(_APPLIED) != setting:
        _apply(session, connection, setting)
    return connection


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        _apply(session, connection, wanted_setting(session))


@event.listens_for(Session, "after_soft_rollback")
def _on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint reverts what was set inside it: know nothing, set again before the next statement.
    # (A released savepoint keeps its settings; a new transaction sets them in after_begin.)
    session.info.pop(_APPLIED, None)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    if _is_postgresql(session):
        _sync(session)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> Result[Any] | None:
    session = state.session
    if not _is_postgresql(session):
        return None
    connection = _sync(session)
    setting = wanted_setting(session)
    if not state.execution_options.get("cross_tenant_lookup", False) or setting[1] == "on":
        return None
    _apply(session, connection, (setting[0], "on"))
    try:
        # Buffer the rows: the tenant setting comes back before the caller reads them.
        return state.invoke_statement().freeze()()
    finally:
        _apply(session, connection, setting)
