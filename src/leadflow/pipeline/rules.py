"""JSON condition language, rule sets and their evaluation, each answer carrying why.

A condition is one of:
  {"all": [...]}, {"any": [...]}, {"not": {...}},
  {"field": "lead.source", "op": "eq", "value": "zap"} (ops: eq, neq, in, not_in, contains, starts_with, gte, lte,
  between, exists),
  {"time_of_day": {"from": "08:00", "to": "18:00", "days": ["mon", "tue"]}} in the tenant time zone.

Evaluation never raises on the facts: a missing field is false with reason "missing", values that cannot be
compared are false with reason "type_mismatch".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

FIELD_PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$"

Scalar = str | int | float | bool | None


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEK: tuple[Weekday, ...] = tuple(Weekday)


class Reason(StrEnum):
    """Why a condition matched or not; stable keys meant to be translated (pt-BR) in the console."""

    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    MISSING = "missing"
    TYPE_MISMATCH = "type_mismatch"
    ALL_MATCHED = "all_matched"
    ONE_FAILED = "one_failed"
    ONE_MATCHED = "one_matched"
    NONE_MATCHED = "none_matched"
    INNER_FAILED = "inner_failed"
    INNER_MATCHED = "inner_matched"
    WITHIN_HOURS = "within_hours"
    OUTSIDE_HOURS = "outside_hours"
    WRONG_DAY = "wrong_day"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------- leaves


class _Leaf(_Strict):
    field: str = Field(pattern=FIELD_PATH_PATTERN, examples=["lead.source", "attribution.first_touch.utm_source"])


class EqualsCondition(_Leaf):
    op: Literal["eq", "neq"]
    value: Scalar = Field(examples=["zap_imoveis"])


class MembershipCondition(_Leaf):
    op: Literal["in", "not_in"]
    value: list[Scalar] = Field(min_length=1, examples=[["Moema", "Pinheiros", "Vila Mariana"]])


class TextCondition(_Leaf):
    """`contains`: substring of a text (case-insensitive) or member of a list; `starts_with`: text prefix."""

    op: Literal["contains", "starts_with"]
    value: str | int | float | bool = Field(examples=["lancamento"])


class CompareCondition(_Leaf):
    """`gte` / `lte` on numbers, or on texts such as ISO dates (compared as texts)."""

    op: Literal["gte", "lte"]
    value: int | float | str = Field(examples=[80_000_000])

    @field_validator("value", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("gte/lte compare numbers or texts, not true/false")
        return value


class BetweenCondition(_Leaf):
    """Inclusive range `[low, high]`."""

    op: Literal["between"]
    value: tuple[int | float, int | float] | tuple[str, str] = Field(examples=[[50_000_000, 120_000_000]])

    @field_validator("value", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and any(isinstance(bound, bool) for bound in value):
            raise ValueError("between takes numbers or texts, not true/false")
        return value

    @field_validator("value")
    @classmethod
    def _low_not_above_high(
        cls, value: tuple[int | float, int | float] | tuple[str, str]
    ) -> tuple[int | float, int | float] | tuple[str, str]:
        low, high = value
        if low > high:  # type: ignore[operator]
            raise ValueError("between needs [low, high] with low <= high")
        return value


class ExistsCondition(_Leaf):
    """`value: true` (default) matches a present, non-null field; `value: false` matches its absence."""

    op: Literal["exists"]
    value: bool = True


LeafCondition = Annotated[
    EqualsCondition | MembershipCondition | TextCondition | CompareCondition | BetweenCondition | ExistsCondition,
    Field(discriminator="op"),
]


class TimeWindow(_Strict):
    """Local time window, `from` inclusive, `to` exclusive. When `to` <= `from` it crosses midnight and the
    hours after midnight belong to the day the window started (fri 22:00-06:00 covers saturday 02:00)."""

    starts: time = Field(alias="from", examples=["08:00"])
    ends: time = Field(alias="to", examples=["18:00"])
    days: list[Weekday] = Field(default_factory=lambda: list(WEEK), min_length=1, examples=[["mon", "tue", "wed"]])

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.starts == self.ends:
            raise ValueError("from and to must differ")
        if self.starts.tzinfo is not None or self.ends.tzinfo is not None:
            raise ValueError("times are local to the tenant time zone; drop the offset")
        return self

    def contains(self, local: datetime) -> bool:
        return local_window_contains(local, self.starts, self.ends, self.days)


class TimeOfDayCondition(_Strict):
    time_of_day: TimeWindow


# ---------------------------------------------------------------- combinators


class AllCondition(_Strict):
    all_of: list[Condition] = Field(alias="all", min_length=1)


class AnyCondition(_Strict):
    any_of: list[Condition] = Field(alias="any", min_length=1)


class NotCondition(_Strict):
    negated: Condition = Field(alias="not")


_SHAPES = ("all", "any", "not", "time_of_day", "field")


def _condition_shape(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        return _MODEL_SHAPES.get(type(data))
    if not isinstance(data, dict):
        return None
    present = [shape for shape in _SHAPES if shape in data]
    return present[0] if len(present) == 1 else None


Condition = Annotated[
    Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")]
    | Annotated[NotCondition, Tag("not")]
    | Annotated[TimeOfDayCondition, Tag("time_of_day")]
    | Annotated[LeafCondition, Tag("field")],
    Discriminator(
        _condition_shape,
        custom_error_type="invalid_condition",
        custom_error_message="a condition has exactly one of: all, any, not, time_of_day, field",
    ),
]

_MODEL_SHAPES: dict[type[BaseModel], str] = {
    AllCondition: "all",
    AnyCondition: "any",
    NotCondition: "not",
    TimeOfDayCondition: "time_of_day",
    EqualsCondition: "field",
    MembershipCondition: "field",
    TextCondition: "field",
    CompareCondition: "field",
    BetweenCondition: "field",
    ExistsCondition: "field",
}

AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()

MAX_DEPTH = 32


def condition_depth(condition: Condition) -> int:
    if isinstance(condition, AllCondition | AnyCondition):
        children = condition.all_of if isinstance(condition, AllCondition) else condition.any_of
        return 1 + max(condition_depth(child) for child in children)
    if isinstance(condition, NotCondition):
        return 1 + condition_depth(condition.negated)
    return 1


def _within_max_depth(condition: Condition) -> Condition:
    # Keeps evaluation far from Python's recursion limit whatever a tenant saves.
    if condition_depth(condition) > MAX_DEPTH:
        raise ValueError(f"conditions nest at most {MAX_DEPTH} levels deep")
    return condition


BoundedCondition = Annotated[Condition, AfterValidator(_within_max_depth)]

_CONDITION_ADAPTER: TypeAdapter[Condition] = TypeAdapter(BoundedCondition)


def parse_condition(data: object) -> Condition:
    """Validate a JSON condition; raises `pydantic.ValidationError` naming the failing part."""
    return _CONDITION_ADAPTER.validate_python(data)


# ---------------------------------------------------------------- explanation


class Explained(BaseModel):
    """Outcome of one condition node, with the nodes under it."""

    model_config = ConfigDict(frozen=True)

    matched: bool
    kind: str = Field(examples=["eq", "all", "time_of_day"])
    reason: Reason
    field: str | None = None
    expected: Any = None
    actual: Any = None
    children: list[Explained] = Field(default_factory=list)

    def describe(self) -> str:
        """One line a manager can read, e.g. `lead.source eq 'zap' -> matched (actual 'zap')`."""
        if self.field is not None:
            return f"{self.field} {self.kind} {self.expected!r} -> {self.reason} (actual {self.actual!r})"
        if self.kind == "time_of_day":
            return f"time_of_day {self.expected} -> {self.reason} (local {self.actual})"
        return f"{self.kind} -> {self.reason}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def resolve_field(facts: Any, path: str) -> Any:
    """Follow a dotted path through dicts (and lists by numeric index); `MISSING` when any step is absent."""
    current = facts
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def local_window_contains(local: datetime, starts: time, ends: time, days: Sequence[Weekday]) -> bool:
    """Whether a local wall-clock moment falls in [starts, ends) on one of `days` (overnight windows allowed)."""
    moment = local.time().replace(tzinfo=None)
    today = WEEK[local.weekday()]
    if starts < ends:
        return today in days and starts <= moment < ends
    yesterday = WEEK[(local - timedelta(days=1)).weekday()]
    return (moment >= starts and today in days) or (moment < ends and yesterday in days)


def evaluate(condition: Condition, facts: Mapping[str, Any], *, now: datetime, tz: str) -> Explained:
    """Evaluate `condition` against a facts document at `now` (aware; naive means UTC) in time zone `tz`."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return _evaluate(condition, facts, aware.astimezone(ZoneInfo(tz)))


def _evaluate(condition: Condition, facts: Mapping[str, Any], local: datetime) -> Explained:
    if isinstance(condition, AllCondition):
        return _evaluate_all(condition, facts, local)
    if isinstance(condition, AnyCondition):
        return _evaluate_any(condition, facts, local)
    if isinstance(condition, NotCondition):
        return _evaluate_not(condition, facts, local)
    if isinstance(condition, TimeOfDayCondition):
        return _evaluate_time_of_day(condition.time_of_day, local)
    return _evaluate_leaf(condition, facts)


def _evaluate_all(condition: AllCondition, facts: Mapping[str, Any], local: datetime) -> Explained:
    children = [_evaluate(child, facts, local) for child in condition.all_of]
    matched = all(child.matched for child in children)
    return Explained(
        matched=matched, kind="all", reason=Reason.ALL_MATCHED if matched else Reason.ONE_FAILED, children=children
    )


def _evaluate_any(condition: AnyCondition, facts: Mapping[str, Any], local: datetime) -> Explained:
    children = [_evaluate(child, facts, local) for child in condition.any_of]
    matched = any(child.matched for child in children)
    return Explained(
        matched=matched, kind="any", reason=Reason.ONE_MATCHED if matched else Reason.NONE_MATCHED, children=children
    )


def _evaluate_not(condition: NotCondition, facts: Mapping[str, Any], local: datetime) -> Explained:
    inner = _evaluate(condition.negated, facts, local)
    reason = Reason.INNER_FAILED if not inner.matched else Reason.INNER_MATCHED
    return Explained(matched=not inner.matched, kind="not", reason=reason, children=[inner])


def _evaluate_time_of_day(window: TimeWindow, local: datetime) -> Explained:
    expected = f"{window.starts:%H:%M}-{window.ends:%H:%M} {','.join(window.days)}"
    actual = f"{WEEK[local.weekday()]} {local:%H:%M:%S}"
    if window.contains(local):
        reason = Reason.WITHIN_HOURS
    elif window.starts < window.ends and WEEK[local.weekday()] not in window.days:
        reason = Reason.WRONG_DAY
    else:
        reason = Reason.OUTSIDE_HOURS
    return Explained(
        matched=reason is Reason.WITHIN_HOURS, kind="time_of_day", reason=reason, expected=expected, actual=actual
    )


def _evaluate_leaf(condition: LeafCondition, facts: Mapping[str, Any]) -> Explained:
    actual = resolve_field(facts, condition.field)
    if isinstance(condition, ExistsCondition):
        present = actual is not MISSING and actual is not None
        matched = present is condition.value
        reason = Reason.MATCHED if matched else (Reason.MISSING if not present else Reason.NOT_MATCHED)
    elif actual is MISSING:
        matched, reason = False, Reason.MISSING
    else:
        matched, reason = _compare(condition, actual)
    return Explained(
        matched=matched,
        kind=condition.op,
        reason=reason,
        field=condition.field,
        expected=condition.value,
        actual=None if actual is MISSING else _printable(actual),
    )


def _compare(condition: LeafCondition, actual: Any) -> tuple[bool, Reason]:
    if isinstance(condition, EqualsCondition):
        equal = _same_value(actual, condition.value)
        return _verdict(equal if condition.op == "eq" else not equal)
    if isinstance(condition, MembershipCondition):
        member = any(_same_value(actual, option) for option in condition.value)
        return _verdict(member if condition.op == "in" else not member)
    if isinstance(condition, TextCondition):
        return _compare_text(condition, actual)
    if isinstance(condition, CompareCondition):
        return _compare_order(actual, condition.value, condition.op)
    if isinstance(condition, BetweenCondition):
        low, high = condition.value
        above, reason = _compare_order(actual, low, "gte")
        if reason is Reason.TYPE_MISMATCH:
            return above, reason
        below, _ = _compare_order(actual, high, "lte")
        return _verdict(above and below)
    return False, Reason.TYPE_MISMATCH


def _compare_text(condition: TextCondition, actual: Any) -> tuple[bool, Reason]:
    if condition.op == "contains" and isinstance(actual, list):
        return _verdict(any(_same_value(item, condition.value) for item in actual))
    if not isinstance(actual, str) or not isinstance(condition.value, str):
        return False, Reason.TYPE_MISMATCH
    text, fragment = actual.casefold(), condition.value.casefold()
    return _verdict(fragment in text if condition.op == "contains" else text.startswith(fragment))


def _compare_order(actual: Any, bound: int | float | str, op: str) -> tuple[bool, Reason]:
    if _is_number(actual) and _is_number(bound):
        return _verdict(actual >= bound if op == "gte" else actual <= bound)
    if isinstance(actual, str) and isinstance(bound, str):
        return _verdict(actual >= bound if op == "gte" else actual <= bound)
    return False, Reason.TYPE_MISMATCH


def _verdict(matched: bool) -> tuple[bool, Reason]:
    return matched, Reason.MATCHED if matched else Reason.NOT_MATCHED


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_value(actual: Any, expected: Any) -> bool:
    """Equality where true/false never equals 1/0 (Python would say it does)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    return type(actual) is type(expected) and bool(actual == expected)


def _printable(value: Any) -> Any:
    """Keep explanations small and JSON-friendly: scalars as they are, containers summarised."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list) and len(value) <= 20 and all(isinstance(v, str | int | float | bool) for v in value):
        return value
    return f"<{type(value).__name__}>"


# ---------------------------------------------------------------- rule sets


class RouteTarget(_Strict):
    group: str = Field(min_length=1, examples=["alto-padrao-zona-sul"])


class RouteAction(_Strict):
    route: RouteTarget


class TagAction(_Strict):
    tag: str = Field(min_length=1, examples=["portal-zap"])


class ScoreAction(_Strict):
    score: int = Field(examples=[10, -5])


class LeadSettings(_Strict):
    """Where the lead goes and how hot it is; at least one of the three."""

    pipeline: str | None = Field(default=None, examples=["Vendas"])
    stage: str | None = Field(default=None, examples=["Novo contato"])
    temperature: str | None = Field(default=None, examples=["quente"])

    def merged_over(self, earlier: LeadSettings) -> LeadSettings:
        return LeadSettings(
            pipeline=self.pipeline or earlier.pipeline,
            stage=self.stage or earlier.stage,
            temperature=self.temperature or earlier.temperature,
        )


class SetAction(_Strict):
    set_fields: LeadSettings = Field(alias="set")

    @field_validator("set_fields")
    @classmethod
    def _sets_something(cls, value: LeadSettings) -> LeadSettings:
        if value.pipeline is None and value.stage is None and value.temperature is None:
            raise ValueError("set needs pipeline, stage or temperature")
        return value


class SlaAction(_Strict):
    sla_minutes: int = Field(gt=0, le=60 * 24 * 30, examples=[15])


class NotifyAction(_Strict):
    notify: str = Field(min_length=1, examples=["gerente-vendas"])


class MarketingMessage(_Strict):
    """A marketing message to the person: an approved WhatsApp template, sent only if the person may receive
    marketing on that channel (LGPD: consent or legitimate interest without objection)."""

    channel: Literal["whatsapp"] = "whatsapp"
    template: str = Field(min_length=1, max_length=512, examples=["lancamento_aurora"])
    language: str = Field(default="pt_BR", min_length=2, max_length=15)


class MarketingAction(_Strict):
    marketing: MarketingMessage


class MarketingStep(BaseModel):
    """A marketing message a rule asked for and, once the person's consents were read, whether it may go and
    why (the sentence of ``privacy.service.marketing_permission``): stored with the rest of the decision log."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    channel: str
    template: str
    language: str
    allowed: bool | None = None  # None: not decided yet (the pure rules do not read consents)
    why: str | None = None


_ACTION_KEYS = ("route", "tag", "score", "set", "sla_minutes", "notify", "marketing")
_ACTION_MODEL_KEYS: dict[type[BaseModel], str] = {
    RouteAction: "route",
    TagAction: "tag",
    ScoreAction: "score",
    SetAction: "set",
    SlaAction: "sla_minutes",
    NotifyAction: "notify",
    MarketingAction: "marketing",
}


def _action_kind(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        return _ACTION_MODEL_KEYS.get(type(data))
    if not isinstance(data, dict) or len(data) != 1:
        return None
    key = next(iter(data))
    return key if key in _ACTION_KEYS else None


Action = Annotated[
    Annotated[RouteAction, Tag("route")]
    | Annotated[TagAction, Tag("tag")]
    | Annotated[ScoreAction, Tag("score")]
    | Annotated[SetAction, Tag("set")]
    | Annotated[SlaAction, Tag("sla_minutes")]
    | Annotated[NotifyAction, Tag("notify")]
    | Annotated[MarketingAction, Tag("marketing")],
    Discriminator(
        _action_kind,
        custom_error_type="invalid_action",
        custom_error_message="an action has exactly one of: route, tag, score, set, sla_minutes, notify, marketing",
    ),
]


class Rule(_Strict):
    id: str = Field(min_length=1, examples=["portal-alto-padrao"])
    name: str = Field(min_length=1, examples=["Portais acima de R$ 1 milhão vão para o alto padrão"])
    when: BoundedCondition
    actions: list[Action] = Field(min_length=1)
    stop: bool = False


class RuleSet(_Strict):
    """A tenant's rules in evaluation order. Matching rules all apply, later ones overriding single values
    (route, set, sla_minutes); `stop` on a matching rule ends the evaluation there."""

    version: int = Field(ge=1, examples=[3])
    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        ids = [rule.id for rule in rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique within a rule set")
        return rules


class RuleDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_name: str
    matched: bool
    stopped: bool = False
    explanation: Explained


class RulesOutcome(BaseModel):
    """Everything the matching rules asked for, with the decisions that led there."""

    model_config = ConfigDict(frozen=True)

    rule_set_version: int
    tags: list[str] = Field(default_factory=list)
    score_delta: int = 0
    settings: LeadSettings = Field(default_factory=LeadSettings)
    sla_minutes: int | None = None
    notify: list[str] = Field(default_factory=list)
    marketing: list[MarketingStep] = Field(default_factory=list)
    route_group: str | None = None
    route_rule_id: str | None = None
    stopped_by: str | None = None
    decisions: list[RuleDecision] = Field(default_factory=list)


def run_rules(rule_set: RuleSet, facts: Mapping[str, Any], *, now: datetime, tz: str) -> RulesOutcome:
    """Evaluate every rule in order, apply the actions of those that match, stop at a matching `stop` rule."""
    outcome = RulesOutcome(rule_set_version=rule_set.version)
    for rule in rule_set.rules:
        explanation = evaluate(rule.when, facts, now=now, tz=tz)
        stopped = explanation.matched and rule.stop
        decision = RuleDecision(
            rule_id=rule.id, rule_name=rule.name, matched=explanation.matched, stopped=stopped, explanation=explanation
        )
        outcome = outcome.model_copy(update={"decisions": [*outcome.decisions, decision]})
        if explanation.matched:
            outcome = _apply_actions(outcome, rule)
        if stopped:
            return outcome.model_copy(update={"stopped_by": rule.id})
    return outcome


def _apply_actions(outcome: RulesOutcome, rule: Rule) -> RulesOutcome:
    for action in rule.actions:
        outcome = outcome.model_copy(update=_action_update(outcome, action, rule.id))
    return outcome


def _action_update(outcome: RulesOutcome, action: Action, rule_id: str) -> dict[str, Any]:
    if isinstance(action, RouteAction):
        return {"route_group": action.route.group, "route_rule_id": rule_id}
    if isinstance(action, TagAction):
        return {"tags": _append_once(outcome.tags, action.tag)}
    if isinstance(action, ScoreAction):
        return {"score_delta": outcome.score_delta + action.score}
    if isinstance(action, SetAction):
        return {"settings": action.set_fields.merged_over(outcome.settings)}
    if isinstance(action, SlaAction):
        return {"sla_minutes": action.sla_minutes}
    if isinstance(action, MarketingAction):
        message = action.marketing
        step = MarketingStep(
            rule_id=rule_id, channel=message.channel, template=message.template, language=message.language
        )
        same = [m for m in outcome.marketing if (m.channel, m.template) == (step.channel, step.template)]
        return {} if same else {"marketing": [*outcome.marketing, step]}
    return {"notify": _append_once(outcome.notify, action.notify)}


def _append_once(items: list[str], item: str) -> list[str]:
    return items if item in items else [*items, item]
