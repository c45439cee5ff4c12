from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadflow.pipeline.rules import (
    MAX_DEPTH,
    Explained,
    Reason,
    RuleSet,
    evaluate,
    parse_condition,
    run_rules,
)

SAO_PAULO = "America/Sao_Paulo"
# Monday 2026-11-23 15:00 UTC is 12:00 in São Paulo (UTC-3, no daylight saving since 2019).
MONDAY_NOON_SP = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

FACTS: dict[str, Any] = {
    "event": {"type": "form_submitted", "received_at": "2026-11-23T15:00:00Z"},
    "lead": {
        "source": "zap_imoveis",
        "purpose": "venda",
        "price_cents": 125_000_000,
        "neighbourhood": "Moema",
        "tags": ["primeiro-imovel", "financiamento"],
        "message": "Quero visitar o apartamento na Rua Canário",
        "phone": None,
        "is_returning": False,
    },
    "attribution": {"first_touch": {"utm_source": "google", "utm_medium": "cpc", "gclid": "Cj0KCQ"}},
}


def check(condition: dict[str, Any], facts: dict[str, Any] | None = None, **when: Any) -> Explained:
    now = when.get("now", MONDAY_NOON_SP)
    tz = when.get("tz", SAO_PAULO)
    return evaluate(parse_condition(condition), FACTS if facts is None else facts, now=now, tz=tz)


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value} if value is not None else {"field": field, "op": op}


class TestEqualityOps:
    def test_eq_matches_the_same_text(self) -> None:
        result = check(leaf("lead.source", "eq", "zap_imoveis"))
        assert result.matched
        assert result.reason is Reason.MATCHED
        assert result.actual == "zap_imoveis"

    def test_eq_fails_on_another_text_and_says_what_it_saw(self) -> None:
        result = check(leaf("lead.source", "eq", "olx"))
        assert not result.matched
        assert (result.reason, result.actual, result.expected) == (Reason.NOT_MATCHED, "zap_imoveis", "olx")

    def test_neq_matches_a_different_value(self) -> None:
        assert check(leaf("lead.source", "neq", "olx")).matched

    def test_neq_fails_on_the_same_value(self) -> None:
        assert not check(leaf("lead.source", "neq", "zap_imoveis")).matched

    def test_eq_treats_integer_and_float_as_the_same_number(self) -> None:
        assert check(leaf("lead.price_cents", "eq", 125_000_000.0)).matched

    def test_eq_never_confuses_false_with_zero(self) -> None:
        assert not check(leaf("lead.is_returning", "eq", 0)).matched
        assert check(leaf("lead.is_returning", "eq", False)).matched

    def test_eq_against_null_matches_a_null_field(self) -> None:
        assert check({"field": "lead.phone", "op": "eq", "value": None}).matched


class TestMembershipOps:
    def test_in_matches_a_listed_neighbourhood(self) -> None:
        assert check(leaf("lead.neighbourhood", "in", ["Moema", "Pinheiros"])).matched

    def test_in_fails_outside_the_list(self) -> None:
        assert not check(leaf("lead.neighbourhood", "in", ["Pinheiros", "Perdizes"])).matched

    def test_not_in_matches_outside_the_list(self) -> None:
        assert check(leaf("lead.neighbourhood", "not_in", ["Pinheiros"])).matched

    def test_not_in_fails_inside_the_list(self) -> None:
        assert not check(leaf("lead.neighbourhood", "not_in", ["Moema"])).matched

    def test_in_needs_a_non_empty_list(self) -> None:
        with pytest.raises(ValidationError):
            parse_condition(leaf("lead.neighbourhood", "in", []))
        with pytest.raises(ValidationError):
            parse_condition(leaf("lead.neighbourhood", "in", "Moema"))


class TestTextOps:
    def test_contains_finds_a_fragment_ignoring_case(self) -> None:
        assert check(leaf("lead.message", "contains", "rua canário")).matched

    def test_contains_fails_without_the_fragment(self) -> None:
        assert not check(leaf("lead.message", "contains", "aluguel")).matched

    def test_contains_on_a_list_field_checks_membership(self) -> None:
        assert check(leaf("lead.tags", "contains", "financiamento")).matched
        assert not check(leaf("lead.tags", "contains", "financ")).matched

    def test_starts_with_matches_a_prefix(self) -> None:
        assert check(leaf("lead.source", "starts_with", "ZAP")).matched
        assert not check(leaf("lead.source", "starts_with", "imoveis")).matched

    def test_text_op_on_a_number_is_a_type_mismatch(self) -> None:
        result = check(leaf("lead.price_cents", "contains", "125"))
        assert (result.matched, result.reason) == (False, Reason.TYPE_MISMATCH)


class TestRangeOps:
    def test_gte_matches_at_the_bound(self) -> None:
        assert check(leaf("lead.price_cents", "gte", 125_000_000)).matched
        assert not check(leaf("lead.price_cents", "gte", 125_000_001)).matched

    def test_lte_matches_at_the_bound(self) -> None:
        assert check(leaf("lead.price_cents", "lte", 125_000_000)).matched
        assert not check(leaf("lead.price_cents", "lte", 124_999_999)).matched

    def test_between_is_inclusive_on_both_ends(self) -> None:
        assert check(leaf("lead.price_cents", "between", [125_000_000, 200_000_000])).matched
        assert check(leaf("lead.price_cents", "between", [50_000_000, 125_000_000])).matched
        assert not check(leaf("lead.price_cents", "between", [50_000_000, 100_000_000])).matched

    def test_ranges_compare_iso_dates_as_texts(self) -> None:
        assert check(leaf("event.received_at", "gte", "2026-11-01")).matched
        assert not check(leaf("event.received_at", "between", ["2026-01-01", "2026-10-31"])).matched

    def test_comparing_a_number_with_a_text_is_a_type_mismatch(self) -> None:
        result = check(leaf("lead.source", "gte", 10))
        assert (result.matched, result.reason) == (False, Reason.TYPE_MISMATCH)

    def test_between_refuses_a_reversed_range(self) -> None:
        with pytest.raises(ValidationError, match="low <= high"):
            parse_condition(leaf("lead.price_cents", "between", [10, 1]))

    def test_ranges_refuse_true_and_false_as_bounds(self) -> None:
        with pytest.raises(ValidationError):
            parse_condition(leaf("lead.price_cents", "gte", True))
        with pytest.raises(ValidationError):
            parse_condition(leaf("lead.price_cents", "between", [False, 10]))


class TestExists:
    def test_exists_matches_a_present_field(self) -> None:
        assert check(leaf("attribution.first_touch.gclid", "exists")).matched

    def test_exists_fails_on_a_null_field(self) -> None:
        assert not check(leaf("lead.phone", "exists")).matched

    def test_exists_false_matches_an_absent_field(self) -> None:
        assert check({"field": "attribution.first_touch.fbclid", "op": "exists", "value": False}).matched


class TestMissingFields:
    @pytest.mark.parametrize(
        "condition",
        [
            leaf("lead.nowhere", "eq", "x"),
            leaf("lead.nowhere", "neq", "x"),
            leaf("lead.nowhere", "in", ["x"]),
            leaf("lead.nowhere", "not_in", ["x"]),
            leaf("lead.nowhere", "contains", "x"),
            leaf("lead.nowhere", "starts_with", "x"),
            leaf("lead.nowhere", "gte", 1),
            leaf("lead.nowhere", "lte", 1),
            leaf("lead.nowhere", "between", [1, 2]),
            leaf("lead.nowhere", "exists"),
            leaf("lead.source.deeper", "eq", "x"),
            leaf("lead.tags.7", "eq", "x"),
        ],
    )
    def test_a_missing_field_is_false_with_reason_missing(self, condition: dict[str, Any]) -> None:
        result = check(condition)
        assert (result.matched, result.reason, result.actual) == (False, Reason.MISSING, None)

    def test_a_list_index_reaches_into_lists(self) -> None:
        assert check(leaf("lead.tags.0", "eq", "primeiro-imovel")).matched

    def test_empty_facts_never_raise(self) -> None:
        assert not check(leaf("lead.source", "eq", "zap_imoveis"), facts={}).matched


class TestNesting:
    def test_all_needs_every_child(self) -> None:
        result = check({"all": [leaf("lead.purpose", "eq", "venda"), leaf("lead.source", "eq", "olx")]})
        assert (result.matched, result.reason) == (False, Reason.ONE_FAILED)
        assert [child.matched for child in result.children] == [True, False]

    def test_any_needs_one_child(self) -> None:
        result = check({"any": [leaf("lead.source", "eq", "olx"), leaf("lead.purpose", "eq", "venda")]})
        assert (result.matched, result.reason) == (True, Reason.ONE_MATCHED)

    def test_not_inverts_and_keeps_the_inner_explanation(self) -> None:
        result = check({"not": leaf("lead.nowhere", "eq", "x")})
        assert (result.matched, result.reason) == (True, Reason.INNER_FAILED)
        assert result.children[0].reason is Reason.MISSING

    def test_deep_nesting_explains_every_level(self) -> None:
        condition = {
            "all": [
                {"any": [leaf("lead.source", "in", ["zap_imoveis", "vivareal"]), leaf("lead.source", "eq", "olx")]},
                {"not": {"all": [leaf("lead.purpose", "eq", "aluguel")]}},
            ]
        }
        result = check(condition)
        assert result.matched
        assert result.children[1].children[0].children[0].describe() == (
            "lead.purpose eq 'aluguel' -> not_matched (actual 'venda')"
        )

    def test_explanations_serialise_to_json(self) -> None:
        result = check({"all": [leaf("lead.tags", "contains", "financiamento")]})
        assert '"reason":"matched"' in result.model_dump_json()


def nested_not(depth: int) -> dict[str, Any]:
    condition: dict[str, Any] = leaf("lead.source", "exists")
    for _ in range(depth - 1):
        condition = {"not": condition}
    return condition


class TestParsing:
    def test_nesting_up_to_the_limit_is_accepted(self) -> None:
        assert check(nested_not(MAX_DEPTH)).reason in {Reason.INNER_FAILED, Reason.INNER_MATCHED}

    def test_nesting_beyond_the_limit_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="at most 32 levels"):
            parse_condition(nested_not(MAX_DEPTH + 1))

    def test_rule_conditions_share_the_nesting_limit(self) -> None:
        rule = {"id": "r", "name": "R", "when": nested_not(MAX_DEPTH + 1), "actions": [{"tag": "x"}]}
        with pytest.raises(ValidationError, match="at most 32 levels"):
            RuleSet.model_validate({"version": 1, "rules": [rule]})

    @pytest.mark.parametrize(
        "bad",
        [
            {},
            {"all": []},
            {"all": [leaf("a", "eq", 1)], "any": [leaf("a", "eq", 1)]},
            {"field": "lead.source", "op": "like", "value": "x"},
            {"field": "lead..source", "op": "eq", "value": "x"},
            {"field": "lead.source", "op": "eq", "value": "x", "extra": 1},
            {"time_of_day": {"from": "08:00", "to": "08:00"}},
            {"time_of_day": {"from": "08:00", "to": "18:00", "days": ["segunda"]}},
            "lead.source == 'zap'",
            None,
        ],
    )
    def test_malformed_conditions_are_refused(self, bad: Any) -> None:
        with pytest.raises(ValidationError):
            parse_condition(bad)


def window(starts: str, ends: str, days: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"from": starts, "to": ends}
    if days is not None:
        spec["days"] = days
    return {"time_of_day": spec}


class TestTimeOfDay:
    def test_business_hours_match_at_noon_in_sao_paulo(self) -> None:
        result = check(window("08:00", "18:00", ["mon", "tue", "wed", "thu", "fri"]))
        assert (result.matched, result.reason, result.actual) == (True, Reason.WITHIN_HOURS, "mon 12:00:00")

    def test_the_same_moment_is_judged_in_the_time_zone_given(self) -> None:
        # 20:30 UTC is 17:30 in São Paulo: inside 08:00-18:00 there, outside in UTC.
        evening = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)
        assert check(window("08:00", "18:00"), now=evening, tz=SAO_PAULO).matched
        assert not check(window("08:00", "18:00"), now=evening, tz="UTC").matched

    def test_start_is_inclusive_and_end_exclusive(self) -> None:
        at_eight = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
        at_six_pm = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
        assert check(window("08:00", "18:00"), now=at_eight).matched
        assert check(window("08:00", "18:00"), now=at_six_pm).reason is Reason.OUTSIDE_HOURS

    def test_a_weekday_not_listed_is_the_wrong_day(self) -> None:
        result = check(window("08:00", "18:00", ["sat", "sun"]))
        assert (result.matched, result.reason) == (False, Reason.WRONG_DAY)

    def test_overnight_window_matches_before_midnight(self) -> None:
        # Monday 23:30 in São Paulo.
        assert check(window("22:00", "06:00", ["mon"]), now=datetime(2026, 11, 24, 2, 30, tzinfo=UTC)).matched

    def test_overnight_window_after_midnight_belongs_to_the_day_it_started(self) -> None:
        # Tuesday 02:00 in São Paulo: inside monday's night shift, not tuesday's.
        tuesday_2am = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
        assert check(window("22:00", "06:00", ["mon"]), now=tuesday_2am).matched
        assert not check(window("22:00", "06:00", ["tue"]), now=tuesday_2am).matched

    def test_overnight_window_does_not_match_midday(self) -> None:
        assert not check(window("22:00", "06:00"), now=MONDAY_NOON_SP).matched

    def test_naive_now_is_read_as_utc(self) -> None:
        assert check(window("11:00", "13:00"), now=datetime(2026, 11, 23, 15, 0)).matched


RULES: dict[str, Any] = {
    "version": 7,
    "rules": [
        {
            "id": "portal",
            "name": "Leads de portais",
            "when": leaf("lead.source", "in", ["zap_imoveis", "vivareal", "olx"]),
            "actions": [{"tag": "portal"}, {"score": 10}, {"sla_minutes": 30}, {"route": {"group": "portais"}}],
        },
        {
            "id": "alto-padrao",
            "name": "Acima de R$ 1 milhão",
            "when": leaf("lead.price_cents", "gte", 100_000_000),
            "actions": [
                {"route": {"group": "alto-padrao"}},
                {"score": 20},
                {"set": {"pipeline": "Vendas", "temperature": "quente"}},
                {"sla_minutes": 10},
                {"notify": "gerente-vendas"},
                {"tag": "portal"},
            ],
            "stop": True,
        },
        {
            "id": "nunca",
            "name": "Depois do stop",
            "when": leaf("lead.purpose", "eq", "venda"),
            "actions": [{"tag": "nao-devia"}],
        },
    ],
}


def outcome_for(facts: dict[str, Any], rules: dict[str, Any] = RULES) -> Any:
    return run_rules(RuleSet.model_validate(rules), facts, now=MONDAY_NOON_SP, tz=SAO_PAULO)


class TestRuleSets:
    def test_matching_rules_combine_their_actions_in_order(self) -> None:
        outcome = outcome_for(FACTS)
        assert outcome.tags == ["portal"]
        assert outcome.score_delta == 30
        assert outcome.sla_minutes == 10
        assert outcome.route_group == "alto-padrao"
        assert outcome.route_rule_id == "alto-padrao"
        assert outcome.notify == ["gerente-vendas"]
        assert (outcome.settings.pipeline, outcome.settings.stage, outcome.settings.temperature) == (
            "Vendas",
            None,
            "quente",
        )

    def test_stop_ends_the_evaluation_at_the_matching_rule(self) -> None:
        outcome = outcome_for(FACTS)
        assert outcome.stopped_by == "alto-padrao"
        assert [decision.rule_id for decision in outcome.decisions] == ["portal", "alto-padrao"]
        assert "nao-devia" not in outcome.tags

    def test_stop_on_a_rule_that_does_not_match_lets_the_next_run(self) -> None:
        cheap = {**FACTS, "lead": {**FACTS["lead"], "price_cents": 40_000_000}}
        outcome = outcome_for(cheap)
        assert outcome.stopped_by is None
        assert [(d.rule_id, d.matched) for d in outcome.decisions] == [
            ("portal", True),
            ("alto-padrao", False),
            ("nunca", True),
        ]
        assert outcome.route_group == "portais"
        assert outcome.tags == ["portal", "nao-devia"]

    def test_the_rule_set_version_is_carried(self) -> None:
        assert outcome_for({}).rule_set_version == 7

    def test_no_match_leaves_everything_untouched_but_explained(self) -> None:
        outcome = outcome_for({})
        assert (outcome.tags, outcome.score_delta, outcome.route_group, outcome.sla_minutes) == ([], 0, None, None)
        assert all(d.explanation.reason is Reason.MISSING for d in outcome.decisions)

    def test_later_set_keeps_what_it_does_not_override(self) -> None:
        rules = {
            "version": 1,
            "rules": [
                {
                    "id": "a",
                    "name": "A",
                    "when": leaf("lead.source", "exists"),
                    "actions": [{"set": {"stage": "Novo"}}],
                },
                {
                    "id": "b",
                    "name": "B",
                    "when": leaf("lead.source", "exists"),
                    "actions": [{"set": {"pipeline": "P"}}],
                },
            ],
        }
        settings_ = outcome_for(FACTS, rules).settings
        assert (settings_.pipeline, settings_.stage) == ("P", "Novo")

    @pytest.mark.parametrize(
        "bad_action",
        [{"tag": "x", "score": 1}, {"set": {}}, {"sla_minutes": 0}, {"route": {}}, {"unknown": 1}, {"score": "dez"}],
    )
    def test_malformed_actions_are_refused(self, bad_action: dict[str, Any]) -> None:
        rules = {"version": 1, "rules": [{**RULES["rules"][0], "actions": [bad_action]}]}
        with pytest.raises(ValidationError):
            RuleSet.model_validate(rules)

    def test_a_marketing_action_asks_for_the_message_without_deciding_it(self) -> None:
        invite = {"marketing": {"template": "convite_aurora"}}
        rules = {"version": 1, "rules": [{**RULES["rules"][0], "actions": [invite, invite]}]}
        [step] = outcome_for(FACTS, rules).marketing
        assert (step.channel, step.template, step.language) == ("whatsapp", "convite_aurora", "pt_BR")
        assert (step.rule_id, step.allowed, step.why) == (RULES["rules"][0]["id"], None, None)  # consents: not here

    @pytest.mark.parametrize(
        "bad", [{"marketing": {}}, {"marketing": {"template": ""}}, {"marketing": {"template": "x", "channel": "sms"}}]
    )
    def test_a_marketing_action_needs_a_template_on_whatsapp(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            RuleSet.model_validate({"version": 1, "rules": [{**RULES["rules"][0], "actions": [bad]}]})

    def test_duplicate_rule_ids_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="unique"):
            RuleSet.model_validate({"version": 1, "rules": [RULES["rules"][0], RULES["rules"][0]]})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["all", "any", "not", "field", "op", "value", "time_of_day", "from", "to", "days"])
ops = st.sampled_from(["eq", "neq", "in", "not_in", "contains", "starts_with", "gte", "lte", "between", "exists"])
condition_like = st.recursive(
    st.fixed_dictionaries(
        {"field": st.sampled_from(["lead.source", "lead", "a.b.0", "x"]), "op": ops, "value": json_values}
    )
    | st.fixed_dictionaries({"time_of_day": st.fixed_dictionaries({"from": json_values, "to": json_values})}),
    lambda children: st.dictionaries(keys, children | st.lists(children, max_size=3) | json_values, max_size=2),
    max_leaves=10,
)


class TestArbitraryInput:
    @settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
    @given(data=condition_like | json_values, facts=json_values)
    def test_any_json_is_refused_or_evaluates_without_raising(self, data: Any, facts: Any) -> None:
        try:
            condition = parse_condition(data)
        except ValidationError:
            return
        document = facts if isinstance(facts, dict) else {"lead": facts}
        result = evaluate(condition, document, now=MONDAY_NOON_SP, tz=SAO_PAULO)
        assert isinstance(result.matched, bool)
        result.model_dump_json()

    @settings(max_examples=200)
    @given(value=json_values, facts=json_values, op=ops)
    def test_every_valid_leaf_answers_on_arbitrary_facts(self, value: Any, facts: Any, op: str) -> None:
        try:
            condition = parse_condition({"field": "lead.x", "op": op, "value": value})
        except ValidationError:
            return
        result = evaluate(condition, {"lead": {"x": facts}}, now=MONDAY_NOON_SP, tz="UTC")
        assert result.reason in set(Reason)
