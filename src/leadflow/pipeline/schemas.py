"""The pipeline's API: rule sets, a team's roleta, routing explanations and replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.pipeline.roleta import WorkShift
from leadflow.pipeline.rules import Rule, Weekday

RULE_EXAMPLE = {
    "id": "google-alto-padrao",
    "name": "Leads do Google acima de R$ 1 milhão vão para o alto padrão",
    "when": {
        "all": [
            {"field": "event.utm_source", "op": "eq", "value": "google"},
            {"field": "lead.price_max_cents", "op": "gte", "value": 100000000},
        ]
    },
    "actions": [{"route": {"group": "alto-padrao"}}, {"tag": "alto-padrao"}, {"score": 20}, {"sla_minutes": 10}],
}


class RuleSetCreate(InputSchema):
    rules: list[Rule] = Field(examples=[[RULE_EXAMPLE]], description="In evaluation order")
    note: str | None = Field(default=None, max_length=500, examples=["Campanha de lançamento Jardins"])


class RuleSetRead(OutputSchema):
    id: uuid.UUID
    version: int
    rules: list[dict[str, Any]]
    note: str | None
    created_by_id: uuid.UUID | None
    created_at: datetime


class RulePreview(InputSchema):
    """A sample lead to test rules against before saving them (the console's "test" button)."""

    rules: list[Rule] | None = Field(default=None, description="Omitted: the active rule set")
    facts: dict[str, Any] = Field(
        examples=[{"event": {"utm_source": "google", "channel": "Paid Search"}, "lead": {"price_max_cents": 150000000}}]
    )
    at: AwareDatetime | None = Field(default=None, description="Evaluate as if now were this moment")


class MemberRoleta(InputSchema):
    user_id: uuid.UUID
    weight: int = Field(default=1, ge=1, le=100, examples=[2])
    capacity: int | None = Field(default=None, ge=0, le=10_000, description="Most leads awaiting first response")
    on_duty: bool = True
    working_hours: dict[Weekday, list[WorkShift]] | None = Field(
        default=None, examples=[{"mon": [{"start": "08:00", "end": "18:00"}]}]
    )
    routing_groups: list[str] = Field(default_factory=list, max_length=30, examples=[["alto-padrao", "zona-sul"]])


class TeamRoleta(InputSchema):
    sla_minutes: int = Field(default=15, ge=1, le=60 * 24 * 7, examples=[15])
    max_reroutes: int = Field(default=2, ge=0, le=20, examples=[2])
    members: list[MemberRoleta] = Field(max_length=500)


class MemberRoletaRead(OutputSchema):
    user_id: uuid.UUID
    name: str
    role: str
    weight: int
    capacity: int | None
    on_duty: bool
    working_hours: dict[str, Any] | None
    routing_groups: list[str]


class TeamRoletaRead(OutputSchema):
    team_id: uuid.UUID
    name: str
    sla_minutes: int
    max_reroutes: int
    members: list[MemberRoletaRead]


class NextLead(OutputSchema):
    """One of the team's next leads as the roleta would hand it out now."""

    position: int = Field(description="1 for the next lead", examples=[1])
    user_id: uuid.UUID | None = Field(description="None: nobody could take it")
    name: str | None = Field(examples=["Juliana Prado"])
    step: str | None = Field(examples=["team"], description="team, or manager when no broker is available")
    why: str = Field(examples=["round-robin in team: lowest (assignments + 1) / weight = 1/2"])


class RoletaPreview(OutputSchema):
    """Who gets the team's next leads if they arrived now; nothing is assigned or recorded."""

    team_id: uuid.UUID
    at: datetime
    next_leads: list[NextLead]


class DutyUpdate(InputSchema):
    on_duty: bool = Field(examples=[True])


class RoutingDecisionRead(OutputSchema):
    id: uuid.UUID
    lead_id: uuid.UUID
    event_id: uuid.UUID | None
    kind: str = Field(examples=["new_lead"])
    decided_at: datetime
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    step: str | None = Field(examples=["team"])
    why: str = Field(examples=["round-robin in team: lowest (assignments + 1) / weight = 1 among 3 available"])
    rule_set_version: int | None
    rules: dict[str, Any] = Field(description="Every rule evaluated, matched or not, with the reason")
    roleta: dict[str, Any] = Field(description="Every step and broker considered, who was skipped and why")


class ReplayRequest(InputSchema):
    received_from: AwareDatetime | None = None
    received_to: AwareDatetime | None = None
    source: str | None = Field(default=None, max_length=32, examples=["form"])
    dry_run: bool = Field(default=True, description="Report what would change without changing anything")
    limit: int = Field(default=1000, ge=1, le=10_000)


class LeadChange(OutputSchema):
    event_id: uuid.UUID
    lead_id: uuid.UUID
    changes: dict[str, Any] = Field(
        examples=[{"tags": {"add": ["alto-padrao"], "remove": []}, "score": {"from": 0, "to": 20}}]
    )


class ReplayReport(OutputSchema):
    dry_run: bool
    rule_set_version: int
    events_considered: int
    leads_changed: int
    changes: list[LeadChange]
