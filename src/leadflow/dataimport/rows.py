"""One line of an import: its cells by field, what became of it, and the errors that name its columns."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.dataimport.mapping import CUSTOM_FIELD, FieldSpec
from leadflow.dataimport.values import BadValue
from leadflow.kit.errors import LeadflowError
from leadflow.kit.scope import Scope
from leadflow.models import ImportedRow
from leadflow.models.dataimport import ImportMode

T = TypeVar("T")
MAX_MESSAGE = 500


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    ERROR = "error"


class RowInvalid(Exception):
    """The line cannot be imported; ``errors`` name the CSV columns (or fields) and say why."""

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        super().__init__("; ".join(str(e["message"]) for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Change:
    """A row the import created or updated, with the values it had before (what a revert puts back)."""

    entity_type: str  # person, lead, property
    entity_id: uuid.UUID
    action: str  # created, updated
    before: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowResult:
    outcome: Outcome
    entity_id: uuid.UUID | None = None
    changes: tuple[Change, ...] = ()
    errors: tuple[dict[str, str | None], ...] = ()

    @classmethod
    def created(cls, entity_type: str, entity_id: uuid.UUID, *also: Change) -> RowResult:
        return cls(Outcome.CREATED, entity_id, (*also, Change(entity_type, entity_id, "created")))

    @classmethod
    def updated(cls, entity_type: str, entity_id: uuid.UUID, before: dict[str, Any], *also: Change) -> RowResult:
        return cls(Outcome.UPDATED, entity_id, (*also, Change(entity_type, entity_id, "updated", jsonable(before))))

    @classmethod
    def duplicate(cls, entity_id: uuid.UUID) -> RowResult:
        return cls(Outcome.DUPLICATE, entity_id)

    @classmethod
    def failed(cls, errors: Iterable[dict[str, str | None]]) -> RowResult:
        return cls(Outcome.ERROR, errors=tuple({"field": e["field"], "message": clean(e["message"])} for e in errors))


@dataclass(frozen=True, slots=True)
class Cell:
    column: str
    field: str
    value: str


@dataclass
class MappedRow:
    """The non-empty cells of one line, by the field each column feeds (empty cells never change anything)."""

    line: int
    cells: list[Cell]
    mapping: Mapping[str, str]

    @classmethod
    def of(cls, line: int, values: Mapping[str, str], mapping: Mapping[str, str]) -> MappedRow:
        cells = [Cell(column, target, values[column].strip()) for column, target in mapping.items()]
        return cls(line, [cell for cell in cells if cell.value], mapping)

    def column_for(self, name: str) -> str:
        """The column that feeds ``name`` (to name it when it is empty), else the field's own name."""
        return next((column for column, target in self.mapping.items() if target == name), name)

    def first(self, name: str) -> Cell | None:
        return next((cell for cell in self.cells if cell.field == name), None)

    def every(self, name: str) -> list[Cell]:
        return [cell for cell in self.cells if cell.field == name]

    def custom(self) -> list[tuple[str, Cell]]:
        return [(match.group(1), cell) for cell in self.cells if (match := CUSTOM_FIELD.match(cell.field))]


class RowErrors:
    """Collects every problem of a line, so one report line names all its bad columns at once."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str | None]] = []

    def add(self, name: str | None, message: str) -> None:
        self.errors.append({"field": name, "message": message})

    def read(self, cell: Cell | None, parse: Callable[[str], T]) -> T | None:
        """``parse(cell.value)``, or None with an error naming the column when it does not parse."""
        if cell is None:
            return None
        try:
            return parse(cell.value)
        except (BadValue, ValueError) as exc:
            self.add(cell.column, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise RowInvalid(self.errors)


def errors_of(exc: Exception, origins: Mapping[str, str] | None = None) -> list[dict[str, str | None]]:
    """A service's or a schema's refusal as report errors, each field translated to the column it came from."""
    origins = origins or {}
    if isinstance(exc, RowInvalid):
        return exc.errors
    if isinstance(exc, ValidationError):
        found = [(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
        return [{"field": _origin(name, origins), "message": message} for name, message in found]
    if isinstance(exc, LeadflowError) and exc.errors:
        return [
            {"field": _origin(str(e.get("field", "")), origins), "message": str(e.get("message") or exc.detail)}
            for e in exc.errors
        ]
    detail = exc.detail if isinstance(exc, LeadflowError) else str(exc)
    return [{"field": None, "message": detail}]


def _origin(name: str, origins: Mapping[str, str]) -> str | None:
    if not name:
        return None
    if name in origins:
        return origins[name]
    head = name.split(".", 1)[0]
    return origins.get(head, name)


def clean(message: str | None) -> str:
    """Report text: no control characters (PostgreSQL's JSON refuses NUL) and of a bounded length."""
    text = "".join(c if c.isprintable() else " " for c in str(message or ""))
    return text[:MAX_MESSAGE]


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as JSON keeps them (dates ISO, decimals and ids as text, enums by value)."""
    return {key: _jsonable(value) for key, value in values.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class ImportContext:
    """What every line of one run shares: the session and scope, the mode, and lookups cached for the run."""

    session: AsyncSession
    scope: Scope
    mode: ImportMode
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    async def cached(self, kind: str, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """``await load()`` once per run for (kind, key): users by e-mail, stages by name, custom fields."""
        if (kind, key) not in self.cache:
            self.cache[(kind, key)] = await load()
        return self.cache[(kind, key)]


class EntityImporter(Protocol):
    """Imports one kind of row (people, leads, properties) and reverts what it did."""

    @property
    def fields(self) -> Mapping[str, FieldSpec]: ...

    @property
    def synonyms(self) -> Mapping[str, str]:
        """header_key of a column name -> field."""
        ...

    @property
    def custom_field_entity(self) -> str:
        """The entity of the tenant's custom field definitions: person, lead, property."""
        ...

    async def import_row(self, ctx: ImportContext, row: MappedRow) -> RowResult: ...


class Reverter(Protocol):
    async def __call__(self, session: AsyncSession, scope: Scope, imported: ImportedRow) -> None: ...
