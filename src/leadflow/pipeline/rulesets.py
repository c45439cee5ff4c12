"""The tenant's rule sets: versioned, never edited in place; the newest version is the one that runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import NotFound, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.models import RuleSetVersion
from leadflow.pipeline.repository import RuleSetRepository
from leadflow.pipeline.rules import Rule, RuleSet

# No rules yet: nothing matches, every lead goes through the roleta of its form's team.
NO_RULES = RuleSet.model_construct(version=0, rules=[])


class RuleSetNotFound(NotFound):
    pass


def parse_rule_set(row: RuleSetVersion) -> RuleSet:
    """Rules are validated when saved; reading them back trusts that (and the models' own checks)."""
    return RuleSet(version=row.version, rules=[Rule.model_validate(rule) for rule in row.rules])


async def active_rule_set(session: AsyncSession) -> RuleSet:
    row = await RuleSetRepository(session).newest()
    return parse_rule_set(row) if row is not None else NO_RULES


async def rules_to_preview(session: AsyncSession, *, rules: list[Rule] | None) -> RuleSet:
    """The rules a preview runs: a draft not saved yet (checked like a save), or the active rule set."""
    if rules is None:
        return await active_rule_set(session)
    _check_unique_ids(rules)
    return RuleSet(version=1, rules=rules)


async def save_rule_set(session: AsyncSession, scope: Scope, *, rules: list[Rule], note: str | None) -> RuleSetVersion:
    """A new version on top of the newest (the version number is the next one; concurrent saves meet on the
    unique (tenant, version) key and one gets a conflict)."""
    _check_unique_ids(rules)
    repo = RuleSetRepository(session)
    newest = await repo.newest()
    row = RuleSetVersion(
        version=(newest.version if newest else 0) + 1,
        rules=rules_as_json(rules),
        note=note,
        created_by_id=scope.actor_id if scope.actor_type == "user" else None,
    )
    repo.add(row)
    await session.flush()
    return row


def _check_unique_ids(rules: list[Rule]) -> None:
    """A rule set with a repeated rule id could be saved but never read back (``RuleSet`` refuses it), which would
    stop every conversion, so it is refused here."""
    seen: set[str] = set()
    errors = []
    for index, rule in enumerate(rules):
        if rule.id in seen:
            errors.append({"field": f"rules.{index}.id", "message": f"rule id {rule.id!r} is used more than once"})
        seen.add(rule.id)
    if errors:
        raise ValidationFailed("rule ids must be unique within a rule set", errors=errors)


async def get_rule_set(session: AsyncSession, scope: Scope, *, version: int) -> RuleSetVersion:
    row = await RuleSetRepository(session).by_version(version)
    if row is None:
        raise RuleSetNotFound(f"rule set version {version} not found")
    return row


async def list_rule_sets(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[RuleSetVersion], str | None]:
    repo = RuleSetRepository(session)
    rows, next_cursor = await repo.page(repo.select(), cursor=cursor, limit=limit)
    return list(rows), next_cursor


def rules_as_json(rules: list[Rule]) -> list[dict[str, Any]]:
    return [rule.model_dump(mode="json", by_alias=True) for rule in rules]
