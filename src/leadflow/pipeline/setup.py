"""The tenant's routing setup a conversion reads — time zone, active rule set, funnels — kept per process between
conversions, and checked against the database by one statement per conversion.

A conversion used to read the tenant, its newest rule set and the funnel (pipeline, stages, transitions) again for
every lead: five to eight statements and a rule-set parse, for data that changes a few times a month. The check is
a fingerprint of those tables (for each: the newest ``updated_at`` and the row count, so edits, additions, soft
and hard deletions all change it) together with the tenant's time zone; the cached setup is used only while the
fingerprint is the one it was read under. The fingerprint is read first and the data after it, in the same
transaction: data newer than its fingerprint only causes one more reload, never a stale read.

Cached rows are detached copies (never attached to any session, so no rollback or commit expires them): read
them, never add them to a session or change them.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from leadflow.kit.orm import Base
from leadflow.kit.scope import Scope
from leadflow.lead.funnel import default_pipeline, load_funnel
from leadflow.lead.repository import PipelineRepository
from leadflow.lead.rules import Funnel
from leadflow.models import Pipeline, RuleSetVersion, Stage, StageTransition, Tenant
from leadflow.pipeline.rules import RuleSet
from leadflow.pipeline.rulesets import active_rule_set

DEFAULT_TIME_ZONE = "America/Sao_Paulo"
CACHED_TENANTS = 256

_TENANT: BindParameter[uuid.UUID] = bindparam("tenant_id")
Row = TypeVar("Row", bound=Base)


def _table_stamp(model: type[Any]) -> list[Any]:
    # No tenant filter here: the session scope puts the tenant's criteria on every occurrence of a tenant model,
    # these subqueries included (and row security does on PostgreSQL).
    return [
        select(func.max(model.updated_at)).scalar_subquery(),
        select(func.count()).select_from(model).scalar_subquery(),
    ]


# Built once (a bind parameter for the tenant): compiled once, then served from SQLAlchemy's statement cache.
# ``include_deleted``: soft-deleted rows count too (a deletion moves updated_at and must change the fingerprint).
_FINGERPRINT = (
    select(
        Tenant.time_zone,
        Tenant.updated_at,
        *[column for model in (Pipeline, Stage, StageTransition, RuleSetVersion) for column in _table_stamp(model)],
    )
    .where(Tenant.id == _TENANT)
    .execution_options(include_deleted=True)
)


@dataclass
class TenantSetup:
    fingerprint: tuple[Any, ...]
    time_zone: str
    rule_set: RuleSet | None = None
    default_pipeline_id: uuid.UUID | None = None
    funnels: dict[uuid.UUID, Funnel] = field(default_factory=dict)


_setups: OrderedDict[uuid.UUID, TenantSetup] = OrderedDict()


async def tenant_setup(session: AsyncSession, scope: Scope) -> TenantSetup:
    """The tenant's setup as of this transaction: the cached one while its fingerprint holds, else a fresh one."""
    assert scope.tenant_id is not None
    row = (await session.execute(_FINGERPRINT, {"tenant_id": scope.tenant_id})).one_or_none()
    fingerprint = tuple(row) if row is not None else ()
    setup = _setups.get(scope.tenant_id)
    if setup is None or setup.fingerprint != fingerprint:
        time_zone = row.time_zone if row is not None and row.time_zone else DEFAULT_TIME_ZONE
        setup = TenantSetup(fingerprint=fingerprint, time_zone=time_zone)
        _setups[scope.tenant_id] = setup
        while len(_setups) > CACHED_TENANTS:
            _setups.popitem(last=False)
    _setups.move_to_end(scope.tenant_id)
    return setup


async def rule_set_of(session: AsyncSession, setup: TenantSetup) -> RuleSet:
    if setup.rule_set is None:
        setup.rule_set = await active_rule_set(session)
    return setup.rule_set


async def default_funnel(session: AsyncSession, scope: Scope, setup: TenantSetup) -> Funnel:
    if setup.default_pipeline_id is None:
        funnel = _detached(await load_funnel(session, await default_pipeline(session, scope)))
        setup.funnels[funnel.pipeline.id] = funnel
        setup.default_pipeline_id = funnel.pipeline.id
    return setup.funnels[setup.default_pipeline_id]


async def funnel_of(session: AsyncSession, setup: TenantSetup, pipeline_id: uuid.UUID) -> Funnel | None:
    """The funnel of a living pipeline of the tenant, None when there is none."""
    if pipeline_id not in setup.funnels:
        pipeline = await PipelineRepository(session).get(pipeline_id)
        if pipeline is None:
            return None
        setup.funnels[pipeline_id] = _detached(await load_funnel(session, pipeline))
    return setup.funnels[pipeline_id]


def _detached(funnel: Funnel) -> Funnel:
    return Funnel(
        pipeline=_copy(funnel.pipeline),
        stages={stage_id: _copy(stage) for stage_id, stage in funnel.stages.items()},
        allowed=funnel.allowed,
    )


def _copy(row: Row) -> Row:
    """A copy of a loaded row that belongs to no session (its columns only)."""
    copy = type(row)(**{column.key: getattr(row, column.key) for column in row.__mapper__.column_attrs})
    make_transient_to_detached(copy)
    return copy
