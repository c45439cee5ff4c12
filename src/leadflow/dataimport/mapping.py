"""Which column of the file feeds which field: a default guessed from pt-BR and English header names, adjusted by
the mapping the request sends ({CSV column: field}, a null field leaving a column out)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from leadflow.dataimport.values import choice_key
from leadflow.kit.errors import ValidationFailed

CUSTOM_FIELD = re.compile(r"^custom_fields\.([a-z0-9_]{1,60})$")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field a column can feed. ``many``: several columns may feed it (phones from "Telefone" and "Celular")."""

    description: str
    many: bool = False


def header_key(name: str) -> str:
    """'E-mail' -> 'email', 'Preço (R$)' -> 'precor', 'Nome completo' -> 'nomecompleto'."""
    return choice_key(name).replace("_", "")


def synonym_table(names: Mapping[str, list[str]]) -> dict[str, str]:
    """{field: [header names people use]} -> {header_key: field}."""
    return {header_key(name): target for target, words in names.items() for name in [target, *words]}


def guess_field(column: str, known: Mapping[str, str]) -> str | None:
    """The field a header names; "Telefone 2" is a "Telefone" too."""
    key = header_key(column)
    return known.get(key) or known.get(key.rstrip("0123456789"))


def default_mapping(columns: list[str], synonyms: Mapping[str, str], fields: Mapping[str, FieldSpec]) -> dict[str, str]:
    """Columns whose header is a known name for a field; a single-valued field takes the first such column."""
    mapping: dict[str, str] = {}
    for column in columns:
        target = guess_field(column, synonyms)
        if target is not None and (fields[target].many or target not in mapping.values()):
            mapping[column] = target
    return mapping


def resolve_mapping(
    columns: list[str],
    requested: Mapping[str, str | None] | None,
    *,
    synonyms: Mapping[str, str],
    fields: Mapping[str, FieldSpec],
) -> dict[str, str]:
    """The effective mapping: the default for the file's header, overridden column by column by ``requested``.

    Raises ValidationFailed (422) naming unknown target fields, columns the file does not have, a single-valued
    field fed by two columns, and a mapping that maps nothing.
    """
    mapping = default_mapping(columns, synonyms, fields)
    requested = requested or {}
    errors = _unknown(columns, requested, fields)
    if errors:
        raise ValidationFailed(_detail(errors), errors=errors)
    for column, target in requested.items():
        mapping.pop(column, None)
        if target:
            mapping[column] = target
    errors = _doubled(mapping, fields)
    if not mapping:
        errors.append({"field": "mapping", "message": _nothing_mapped(columns, fields)})
    if errors:
        raise ValidationFailed(_detail(errors), errors=errors)
    return {column: mapping[column] for column in columns if column in mapping}


def is_known_field(target: str, fields: Mapping[str, FieldSpec]) -> bool:
    return target in fields or CUSTOM_FIELD.match(target) is not None


def _unknown(
    columns: list[str], requested: Mapping[str, str | None], fields: Mapping[str, FieldSpec]
) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for column, target in requested.items():
        if column not in columns:
            errors.append({"field": f"mapping.{column}", "message": "the file has no column by this name"})
        elif target and not is_known_field(target, fields):
            known = ", ".join([*fields, "custom_fields.<key>"])
            errors.append({"field": f"mapping.{column}", "message": f"unknown field {target!r} (known: {known})"})
    return errors


def _doubled(mapping: Mapping[str, str], fields: Mapping[str, FieldSpec]) -> list[dict[str, str]]:
    by_target: dict[str, list[str]] = {}
    for column, target in mapping.items():
        by_target.setdefault(target, []).append(column)
    return [
        {"field": f"mapping.{sources[1]}", "message": f"{target!r} is already fed by the column {sources[0]!r}"}
        for target, sources in by_target.items()
        if len(sources) > 1 and not (target in fields and fields[target].many)
    ]


def _nothing_mapped(columns: list[str], fields: Mapping[str, FieldSpec]) -> str:
    return (
        f"no column of the file is mapped to a field (columns: {', '.join(columns)}); the first line must be a "
        f"header naming the columns, or send a mapping to the fields {', '.join(fields)}"
    )


def _detail(errors: list[dict[str, str]]) -> str:
    return "invalid mapping: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
