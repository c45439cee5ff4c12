from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.pipeline.roleta import (
    Candidate,
    RoutingDecision,
    RoutingRequest,
    RoutingState,
    RoutingStep,
    SkipReason,
    StepOutcome,
    WorkShift,
    is_available_now,
    next_on_sla_breach,
    route,
    upcoming,
)
from leadflow.pipeline.rules import Weekday

SAO_PAULO = "America/Sao_Paulo"
# Monday 2026-11-23 15:00 UTC is 12:00 in São Paulo.
MONDAY_NOON_SP = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

ANA = UUID("00000000-0000-7000-8000-000000000001")
BRUNO = UUID("00000000-0000-7000-8000-000000000002")
CARLA = UUID("00000000-0000-7000-8000-000000000003")
DANIEL = UUID("00000000-0000-7000-8000-000000000004")
GERENTE = UUID("00000000-0000-7000-8000-000000000009")

BUSINESS_HOURS = {
    day: [WorkShift(start="08:00", end="18:00")]
    for day in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
}


def broker(user_id: UUID, name: str, **changes: Any) -> Candidate:
    return Candidate(user_id=user_id, name=name, **changes)


def team(**changes_by_name: dict[str, Any]) -> list[Candidate]:
    roster = {
        "Ana": broker(ANA, "Ana Souza", groups=frozenset({"alto-padrao"})),
        "Bruno": broker(BRUNO, "Bruno Lima", weight=2),
        "Carla": broker(CARLA, "Carla Dias", groups=frozenset({"alto-padrao"})),
        "Gerente": broker(GERENTE, "Marta Gerente", is_manager=True, on_duty=False),
    }
    return [
        candidate.model_copy(update=changes_by_name.get(name, {})) if name in changes_by_name else candidate
        for name, candidate in roster.items()
    ]


def assign(
    request: RoutingRequest | None = None,
    candidates: list[Candidate] | None = None,
    state: RoutingState | None = None,
    **options: Any,
) -> RoutingDecision:
    return route(
        request or RoutingRequest(),
        team() if candidates is None else candidates,
        state or RoutingState(),
        now=options.pop("now", MONDAY_NOON_SP),
        tz=options.pop("tz", SAO_PAULO),
        **options,
    )


def skip_reasons(decision: RoutingDecision, step: RoutingStep) -> dict[UUID, SkipReason | None]:
    trace = next(trace for trace in decision.steps if trace.step is step)
    return {check.user_id: check.skipped_because for check in trace.considered}


class TestWeightedFairness:
    def test_weights_1_2_1_share_400_leads_as_100_200_100(self) -> None:
        state = RoutingState()
        wins: Counter[UUID] = Counter()
        for _ in range(400):
            decision = assign(state=state)
            assert decision.assignee_id is not None
            wins[decision.assignee_id] += 1
            state = decision.state
        assert wins == {ANA: 100, BRUNO: 200, CARLA: 100}
        assert state.assignments == dict(wins)

    def test_no_broker_drifts_from_their_share_along_the_way(self) -> None:
        state = RoutingState()
        wins: Counter[UUID] = Counter()
        for total in range(1, 201):
            decision = assign(state=state)
            assert decision.assignee_id is not None
            wins[decision.assignee_id] += 1
            state = decision.state
            for user_id, share in ((ANA, 0.25), (BRUNO, 0.5), (CARLA, 0.25)):
                assert abs(wins[user_id] - share * total) <= 1

    def test_ties_are_broken_by_user_id(self) -> None:
        equal = [broker(CARLA, "Carla"), broker(ANA, "Ana"), broker(BRUNO, "Bruno")]
        assert assign(candidates=equal).assignee_id == ANA

    def test_the_same_inputs_always_give_the_same_broker(self) -> None:
        state = RoutingState(assignments={ANA: 3, BRUNO: 6, CARLA: 2})
        assert {assign(state=state).assignee_id for _ in range(5)} == {CARLA}

    def test_the_broker_furthest_behind_their_share_wins(self) -> None:
        # Bruno (weight 2) with 3 leads: (3 + 1) / 2 = 2 beats Ana with 2 leads: (2 + 1) / 1 = 3.
        state = RoutingState(assignments={ANA: 2, BRUNO: 3, CARLA: 2})
        decision = assign(state=state)
        assert decision.assignee_id == BRUNO
        assert decision.state.assignments[BRUNO] == 4
        assert decision.why == "round-robin in team: lowest (assignments + 1) / weight = 2 among 3 available"

    def test_the_state_given_is_never_changed(self) -> None:
        state = RoutingState(assignments={ANA: 1})
        assign(state=state)
        assert state.assignments == {ANA: 1}


class TestListingBrokerFirst:
    def test_the_captador_gets_the_lead_for_their_property(self) -> None:
        decision = assign(RoutingRequest(listing_broker_id=CARLA, requested_group="outro"))
        assert (decision.assignee_id, decision.step) == (CARLA, RoutingStep.LISTING_BROKER)
        assert "captador" in decision.why

    def test_the_captadors_own_leads_do_not_spend_their_turns(self) -> None:
        state = RoutingState(assignments={ANA: 1})
        assert assign(RoutingRequest(listing_broker_id=CARLA), state=state).state == state

    def test_an_unavailable_captador_falls_back_to_the_roleta_with_the_reason(self) -> None:
        decision = assign(RoutingRequest(listing_broker_id=CARLA), team(Carla={"on_duty": False}))
        assert decision.step is RoutingStep.TEAM
        assert decision.assignee_id == BRUNO
        assert skip_reasons(decision, RoutingStep.LISTING_BROKER) == {CARLA: SkipReason.OFF_DUTY}

    def test_a_captador_outside_the_team_is_not_applicable(self) -> None:
        decision = assign(RoutingRequest(listing_broker_id=DANIEL))
        assert decision.steps[0].outcome is StepOutcome.NOT_APPLICABLE
        assert decision.step is RoutingStep.TEAM


class TestSpecialGroups:
    def test_the_group_named_by_the_rules_is_served_first(self) -> None:
        request = RoutingRequest(requested_group="alto-padrao", rule_id="alto-padrao", rule_set_version=4)
        decision = assign(request)
        assert (decision.assignee_id, decision.step) == (ANA, RoutingStep.GROUP)
        assert (decision.rule_id, decision.rule_set_version) == ("alto-padrao", 4)
        assert skip_reasons(decision, RoutingStep.GROUP)[BRUNO] is SkipReason.NOT_IN_GROUP

    def test_the_group_rotates_among_its_members_only(self) -> None:
        state = RoutingState()
        winners = []
        for _ in range(4):
            decision = assign(RoutingRequest(requested_group="alto-padrao"), state=state)
            winners.append(decision.assignee_id)
            state = decision.state
        assert winners == [ANA, CARLA, ANA, CARLA]

    def test_without_a_group_the_group_step_is_not_applicable(self) -> None:
        decision = assign()
        group_trace = next(trace for trace in decision.steps if trace.step is RoutingStep.GROUP)
        assert group_trace.outcome is StepOutcome.NOT_APPLICABLE


class TestSkipReasons:
    def test_each_broker_skipped_says_why(self) -> None:
        roster = team(
            Ana={"on_duty": False},
            Bruno={"capacity": 3, "open_leads": 3},
            Carla={"working_hours": {Weekday.SAT: [WorkShift(start="08:00", end="12:00")]}},
        )
        roster.append(broker(DANIEL, "Daniel Reis"))
        decision = assign(candidates=roster)
        assert decision.assignee_id == DANIEL
        assert skip_reasons(decision, RoutingStep.TEAM) == {
            ANA: SkipReason.OFF_DUTY,
            BRUNO: SkipReason.AT_CAPACITY,
            CARLA: SkipReason.OUTSIDE_HOURS,
            DANIEL: None,
            GERENTE: SkipReason.RESERVED_FOR_ESCALATION,
        }

    def test_the_explanation_names_load_and_turns(self) -> None:
        decision = assign(candidates=team(Ana={"open_leads": 2}), state=RoutingState(assignments={ANA: 1}))
        trace = next(trace for trace in decision.steps if trace.step is RoutingStep.TEAM)
        ana = next(check for check in trace.considered if check.user_id == ANA)
        assert (ana.open_leads, ana.assignments_in_cycle, ana.weight) == (2, 1, 1)


def next_owners(roster: list[Candidate], state: RoutingState | None = None, count: int = 6) -> list[UUID | None]:
    decisions = upcoming(roster, state or RoutingState(), now=MONDAY_NOON_SP, tz=SAO_PAULO, count=count)
    return [d.assignee_id for d in decisions]


class TestUpcomingLeads:
    """The preview of a team's next leads plays the roleta forward without touching anything."""

    def test_the_next_leads_follow_the_weights(self) -> None:
        roster = [broker(ANA, "Ana"), broker(BRUNO, "Bruno", weight=2)]
        assert Counter(next_owners(roster, count=6)) == {ANA: 2, BRUNO: 4}

    def test_todays_assignments_count(self) -> None:
        roster = [broker(ANA, "Ana"), broker(BRUNO, "Bruno")]
        assert next_owners(roster, RoutingState(assignments={ANA: 3}), count=4) == [BRUNO, BRUNO, BRUNO, ANA]

    def test_capacity_fills_as_it_goes_and_it_stops_when_nobody_can_take_one(self) -> None:
        roster = [broker(ANA, "Ana", capacity=1), broker(BRUNO, "Bruno", capacity=2, open_leads=1)]
        assert next_owners(roster, count=5) == [ANA, BRUNO, None]

    def test_it_changes_nothing_it_was_given(self) -> None:
        roster, state = [broker(ANA, "Ana", capacity=1)], RoutingState()
        next_owners(roster, state)
        assert (roster[0].open_leads, state.assignments) == (0, {})


class TestCapacity:
    def test_below_capacity_still_receives(self) -> None:
        roster = [broker(ANA, "Ana", capacity=3, open_leads=2)]
        assert assign(candidates=roster).assignee_id == ANA

    def test_at_capacity_is_skipped(self) -> None:
        roster = [broker(ANA, "Ana", capacity=3, open_leads=3), broker(BRUNO, "Bruno")]
        assert assign(candidates=roster, state=RoutingState(assignments={BRUNO: 9})).assignee_id == BRUNO

    def test_no_capacity_means_no_limit(self) -> None:
        assert assign(candidates=[broker(ANA, "Ana", open_leads=500)]).assignee_id == ANA


class TestWorkingHoursAtTheBoundary:
    @pytest.mark.parametrize(
        ("utc_moment", "available"),
        [
            (datetime(2026, 11, 23, 10, 59, 59, tzinfo=UTC), False),  # 07:59:59 in São Paulo
            (datetime(2026, 11, 23, 11, 0, 0, tzinfo=UTC), True),  # 08:00:00
            (datetime(2026, 11, 23, 20, 59, 59, tzinfo=UTC), True),  # 17:59:59
            (datetime(2026, 11, 23, 21, 0, 0, tzinfo=UTC), False),  # 18:00:00
            (datetime(2026, 11, 28, 15, 0, 0, tzinfo=UTC), False),  # saturday noon
        ],
    )
    def test_shift_start_counts_and_shift_end_does_not(self, utc_moment: datetime, available: bool) -> None:
        roster = [broker(ANA, "Ana", working_hours=BUSINESS_HOURS)]
        decision = assign(candidates=roster, now=utc_moment, fallback_chain=[RoutingStep.TEAM])
        assert (decision.assignee_id == ANA) is available

    def test_hours_are_read_in_the_tenant_time_zone(self) -> None:
        # 10:00 UTC is 07:00 in São Paulo (outside) but 10:00 in UTC (inside).
        roster = [broker(ANA, "Ana", working_hours=BUSINESS_HOURS)]
        morning = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        assert assign(candidates=roster, now=morning, tz="UTC").assignee_id == ANA
        assert assign(candidates=roster, now=morning, tz=SAO_PAULO).assignee_id is None

    def test_a_night_shift_covers_the_hours_after_midnight(self) -> None:
        night = {Weekday.FRI: [WorkShift(start="22:00", end="06:00")]}
        roster = [broker(ANA, "Ana", working_hours=night)]
        saturday_2am_sp = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
        assert assign(candidates=roster, now=saturday_2am_sp).assignee_id == ANA


class TestFallbackChain:
    def test_an_empty_group_falls_back_to_the_team(self) -> None:
        decision = assign(
            RoutingRequest(requested_group="alto-padrao"), team(Ana={"on_duty": False}, Carla={"on_duty": False})
        )
        assert (decision.assignee_id, decision.step) == (BRUNO, RoutingStep.TEAM)
        assert [trace.outcome for trace in decision.steps] == [
            StepOutcome.NOT_APPLICABLE,
            StepOutcome.NOBODY_AVAILABLE,
            StepOutcome.ASSIGNED,
        ]

    def test_nobody_available_goes_to_the_manager(self) -> None:
        everyone_off = team(Ana={"on_duty": False}, Bruno={"on_duty": False}, Carla={"on_duty": False})
        decision = assign(candidates=everyone_off)
        assert (decision.assignee_id, decision.step) == (GERENTE, RoutingStep.MANAGER)
        assert skip_reasons(decision, RoutingStep.MANAGER)[ANA] is SkipReason.NOT_A_MANAGER

    def test_a_chain_without_manager_leaves_the_lead_unassigned(self) -> None:
        everyone_off = team(Ana={"on_duty": False}, Bruno={"on_duty": False}, Carla={"on_duty": False})
        decision = assign(candidates=everyone_off, fallback_chain=[RoutingStep.GROUP, RoutingStep.TEAM])
        assert (decision.assignee_id, decision.step) == (None, None)
        assert decision.why == "nobody available in any step of the fallback chain"
        assert decision.state == RoutingState()

    def test_the_chain_order_is_followed(self) -> None:
        decision = assign(RoutingRequest(requested_group="alto-padrao"), fallback_chain=[RoutingStep.MANAGER])
        assert decision.assignee_id == GERENTE

    def test_the_decision_serialises_to_json_for_storage(self) -> None:
        decision = assign(RoutingRequest(requested_group="alto-padrao"))
        assert RoutingDecision.model_validate_json(decision.model_dump_json()) == decision


class TestSlaReRoleta:
    def test_the_next_broker_excludes_everyone_who_had_the_lead(self) -> None:
        handoff = next_on_sla_breach(
            [BRUNO, ANA], RoutingRequest(), team(), RoutingState(), now=MONDAY_NOON_SP, tz=SAO_PAULO, max_reroutes=3
        )
        assert (handoff.decision.assignee_id, handoff.reroute_number, handoff.escalated_to_manager) == (CARLA, 2, False)
        reasons = skip_reasons(handoff.decision, RoutingStep.TEAM)
        assert (reasons[ANA], reasons[BRUNO]) == (SkipReason.PREVIOUS_OWNER, SkipReason.PREVIOUS_OWNER)

    def test_a_captador_who_let_the_sla_pass_is_not_picked_again(self) -> None:
        handoff = next_on_sla_breach(
            [CARLA],
            RoutingRequest(listing_broker_id=CARLA),
            team(),
            RoutingState(),
            now=MONDAY_NOON_SP,
            tz=SAO_PAULO,
            max_reroutes=2,
        )
        assert handoff.decision.step is RoutingStep.TEAM
        assert handoff.decision.assignee_id != CARLA

    def test_after_n_reroutes_the_manager_gets_the_lead(self) -> None:
        handoff = next_on_sla_breach(
            [ANA, BRUNO, CARLA],
            RoutingRequest(),
            [*team(), broker(DANIEL, "Daniel")],
            RoutingState(),
            now=MONDAY_NOON_SP,
            tz=SAO_PAULO,
            max_reroutes=2,
        )
        assert (handoff.decision.assignee_id, handoff.reroute_number, handoff.escalated_to_manager) == (
            GERENTE,
            3,
            True,
        )

    def test_the_last_allowed_reroute_still_goes_to_a_broker(self) -> None:
        handoff = next_on_sla_breach(
            [ANA, BRUNO], RoutingRequest(), team(), RoutingState(), now=MONDAY_NOON_SP, tz=SAO_PAULO, max_reroutes=2
        )
        assert (handoff.decision.assignee_id, handoff.escalated_to_manager) == (CARLA, False)

    def test_when_every_broker_already_had_it_the_manager_is_called_early(self) -> None:
        handoff = next_on_sla_breach(
            [ANA, BRUNO, CARLA],
            RoutingRequest(),
            team(),
            RoutingState(),
            now=MONDAY_NOON_SP,
            tz=SAO_PAULO,
            max_reroutes=10,
        )
        assert (handoff.decision.assignee_id, handoff.escalated_to_manager) == (GERENTE, True)

    def test_the_reroute_counts_in_the_fairness_cycle(self) -> None:
        handoff = next_on_sla_breach(
            [ANA], RoutingRequest(), team(), RoutingState(), now=MONDAY_NOON_SP, tz=SAO_PAULO, max_reroutes=2
        )
        assert handoff.decision.state.assignments == {BRUNO: 1}


def candidates_strategy() -> st.SearchStrategy[list[Candidate]]:
    one = st.builds(
        Candidate,
        user_id=st.uuids(),
        name=st.just("Corretor"),
        weight=st.integers(1, 4),
        capacity=st.none() | st.integers(0, 3),
        open_leads=st.integers(0, 4),
        on_duty=st.booleans(),
        working_hours=st.none() | st.just(BUSINESS_HOURS),
        groups=st.frozensets(st.sampled_from(["alto-padrao", "locacao"]), max_size=2),
        is_manager=st.booleans(),
    )
    return st.lists(one, max_size=6, unique_by=lambda candidate: candidate.user_id)


class TestRoletaInvariants:
    @settings(max_examples=300)
    @given(
        roster=candidates_strategy(),
        group=st.none() | st.sampled_from(["alto-padrao", "locacao", "lancamentos"]),
        now=st.datetimes(timezones=st.just(UTC)),
    )
    def test_the_winner_is_available_or_a_manager_and_nobody_is_left_out_silently(
        self, roster: list[Candidate], group: str | None, now: datetime
    ) -> None:
        decision = route(RoutingRequest(requested_group=group), roster, RoutingState(), now=now, tz=SAO_PAULO)
        managers = [c for c in roster if c.is_manager]
        if decision.assignee_id is None:
            assert not managers
            assert all(check.skipped_because is not None for trace in decision.steps for check in trace.considered)
            return
        winner_trace = next(trace for trace in decision.steps if trace.winner_id == decision.assignee_id)
        winner_check = next(c for c in winner_trace.considered if c.user_id == decision.assignee_id)
        assert winner_check.skipped_because is None
        assert decision.state.count(decision.assignee_id) == 1
        if decision.step is RoutingStep.MANAGER:
            team_trace = next(trace for trace in decision.steps if trace.step is RoutingStep.TEAM)
            assert team_trace.outcome is StepOutcome.NOBODY_AVAILABLE

    @settings(max_examples=200)
    @given(roster=candidates_strategy(), now=st.datetimes(timezones=st.just(UTC)))
    def test_every_team_skip_reason_matches_the_broker(self, roster: list[Candidate], now: datetime) -> None:
        decision = route(RoutingRequest(), roster, RoutingState(), now=now, tz=SAO_PAULO)
        local = now.astimezone(ZoneInfo(SAO_PAULO))
        reasons = skip_reasons(decision, RoutingStep.TEAM)
        for candidate in roster:
            expected = (
                SkipReason.RESERVED_FOR_ESCALATION if candidate.is_manager else is_available_now(candidate, local)
            )
            assert reasons[candidate.user_id] is expected
