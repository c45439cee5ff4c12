"""Per-tenant custom fields of leads, people and properties: their definitions and the validation of values."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.customfield.repository import CustomFieldRepository
from leadflow.customfield.schemas import CustomFieldCreate, CustomFieldUpdate
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed, wording
from leadflow.kit.scope import Scope
from leadflow.models import CustomFieldDefinition, CustomFieldType

MAX_TEXT = 2000


class CustomFieldNotFound(NotFound):
    code = "custom-field-not-found"
    title = "Custom field not found"


def _text(value: Any, _: CustomFieldDefinition) -> Any:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise ValueError(f"must be text of at most {MAX_TEXT} characters, without NUL")
    return value


def _number(value: Any, _: CustomFieldDefinition) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _date(value: Any, _: CustomFieldDefinition) -> Any:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError) as exc:
        raise ValueError("must be a date (YYYY-MM-DD)") from exc


def _boolean(value: Any, _: CustomFieldDefinition) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _select(value: Any, field: CustomFieldDefinition) -> Any:
    if value not in field.options:
        raise ValueError(f"must be one of: {', '.join(field.options)}")
    return value


def _multiselect(value: Any, field: CustomFieldDefinition) -> Any:
    if not isinstance(value, list) or any(v not in field.options for v in value):
        raise ValueError(f"must be a list of: {', '.join(field.options)}")
    return sorted(set(value), key=field.options.index)


_CHECKS: dict[CustomFieldType, Callable[[Any, CustomFieldDefinition], Any]] = {
    CustomFieldType.TEXT: _text,
    CustomFieldType.NUMBER: _number,
    CustomFieldType.DATE: _date,
    CustomFieldType.BOOLEAN: _boolean,
    CustomFieldType.SELECT: _select,
    CustomFieldType.MULTISELECT: _multiselect,
}


async def validate_custom_fields(
    session: AsyncSession, scope: Scope, *, entity: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Check a row's whole set of custom values against the tenant's definitions; returns them normalised.

    Pass the complete set the row will have (after merging a partial update), so required fields are checked.
    Raises ValidationFailed naming each failing ``custom_fields.<key>``.
    """
    definitions = {d.key: d for d in await CustomFieldRepository(session).for_entity(entity)}
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for key, value in values.items():
        field = definitions.get(key)
        if field is None:
            errors.append({"field": f"custom_fields.{key}", "message": "unknown custom field"})
        elif value is not None:
            try:
                clean[key] = _CHECKS[field.type](value, field)
            except ValueError as exc:
                errors.append({"field": f"custom_fields.{key}", "message": str(exc)})
    for key, field in definitions.items():
        if (
            field.required
            and clean.get(key) in (None, "", [])
            and not any(e["field"].endswith(f".{key}") for e in errors)
        ):
            errors.append({"field": f"custom_fields.{key}", "message": f"{field.label} is required"})
    if errors:
        raise ValidationFailed("some custom fields are invalid", errors=errors)
    return clean


async def list_fields(session: AsyncSession, scope: Scope, *, entity: str | None) -> list[CustomFieldDefinition]:
    repo = CustomFieldRepository(session)
    stmt = repo.select().order_by(CustomFieldDefinition.entity, CustomFieldDefinition.key)
    if entity:
        stmt = stmt.where(CustomFieldDefinition.entity == entity)
    return list(await repo.all(stmt))


def _check_options(field_type: CustomFieldType, options: list[str]) -> None:
    choice = field_type in (CustomFieldType.SELECT, CustomFieldType.MULTISELECT)
    if choice and not options:
        raise ValidationFailed("a select field needs options", errors=[{"field": "options", "message": "required"}])
    if len(set(options)) != len(options):
        raise ValidationFailed("options repeat", errors=[{"field": "options", "message": "must be unique"}])


async def create_field(session: AsyncSession, scope: Scope, *, data: CustomFieldCreate) -> CustomFieldDefinition:
    repo = CustomFieldRepository(session)
    if await repo.by_key(data.entity, data.key):
        raise Conflict(wording("%(entity)s already has a custom field %(key)s", entity=data.entity, key=data.key))
    _check_options(data.type, data.options)
    field = repo.add(CustomFieldDefinition(**data.model_dump()))
    await session.flush()
    return field


async def get_field(session: AsyncSession, scope: Scope, *, field_id: uuid.UUID) -> CustomFieldDefinition:
    return await _get(session, field_id)


async def update_field(
    session: AsyncSession, scope: Scope, *, field_id: uuid.UUID, data: CustomFieldUpdate
) -> CustomFieldDefinition:
    field = await _get(session, field_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "options" in changes:
        _check_options(field.type, changes["options"])
    for name, value in changes.items():
        setattr(field, name, value)
    return field


async def delete_field(session: AsyncSession, scope: Scope, *, field_id: uuid.UUID) -> None:
    """Removes the definition; values already stored on rows stay (they are no longer validated or shown)."""
    await session.delete(await _get(session, field_id))


async def _get(session: AsyncSession, field_id: uuid.UUID) -> CustomFieldDefinition:
    return await CustomFieldRepository(session).get_or_raise(field_id, error=CustomFieldNotFound)
