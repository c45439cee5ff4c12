"""Cells mapped to ``custom_fields.<key>`` read by the type of the tenant's definition (a spreadsheet only holds
text: "1.500,00" becomes 1500, "sim" becomes true, "Indicação" becomes the option "indicação")."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from leadflow.customfield.service import list_fields
from leadflow.dataimport.rows import ImportContext, MappedRow, RowErrors
from leadflow.dataimport.values import BadValue, choice_key, parse_date, parse_decimal, parse_list
from leadflow.models import CustomFieldDefinition, CustomFieldType

TRUE_WORDS = frozenset({"sim", "s", "yes", "y", "true", "verdadeiro", "1", "x"})
FALSE_WORDS = frozenset({"nao", "n", "no", "false", "falso", "0"})


async def definitions(ctx: ImportContext, entity: str) -> dict[str, CustomFieldDefinition]:
    """The tenant's custom field definitions of ``entity`` by key, loaded once per run."""

    async def load() -> dict[str, CustomFieldDefinition]:
        return {d.key: d for d in await list_fields(ctx.session, ctx.scope, entity=entity)}

    found: dict[str, CustomFieldDefinition] = await ctx.cached("custom_fields", entity, load)
    return found


async def custom_values(
    ctx: ImportContext, row: MappedRow, entity: str, errors: RowErrors
) -> tuple[dict[str, Any], dict[str, str]]:
    """The row's custom values, typed, and the column each came from (to name it in errors)."""
    known = await definitions(ctx, entity)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, cell in row.custom():
        definition = known.get(key)
        if definition is None:
            errors.add(cell.column, f"no custom field {key!r} is defined for this tenant")
            continue
        value = errors.read(cell, _reader(definition))
        if value is not None:
            values[key] = value
            origins[f"custom_fields.{key}"] = cell.column
    return values, origins


def _reader(definition: CustomFieldDefinition) -> Callable[[str], Any]:
    readers: dict[CustomFieldType, Callable[[str], Any]] = {
        CustomFieldType.TEXT: str,
        CustomFieldType.NUMBER: read_number,
        CustomFieldType.DATE: lambda raw: parse_date(raw).isoformat(),
        CustomFieldType.BOOLEAN: read_boolean,
        CustomFieldType.SELECT: lambda raw: read_option(raw, definition.options),
        CustomFieldType.MULTISELECT: lambda raw: [read_option(item, definition.options) for item in parse_list(raw)],
    }
    return readers[definition.type]


def read_number(raw: str) -> int | float:
    text = raw.strip()
    negative = text.startswith("-")
    number: Decimal = parse_decimal(text.removeprefix("-"), max_places=6)
    number = -number if negative else number
    return int(number) if number == number.to_integral_value() else float(number)


def read_boolean(raw: str) -> bool:
    word = choice_key(raw)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise BadValue("not yes or no (write sim or não)")


def read_option(raw: str, options: list[str]) -> str:
    wanted = choice_key(raw)
    for option in options:
        if choice_key(option) == wanted:
            return option
    raise BadValue(f"not one of the options: {', '.join(options)}")
