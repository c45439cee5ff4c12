"""The demo tenant's capture setup: the "contato" form routed to team Vendas, its roleta, and a first rule set."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import LeadForm, Role, RuleSetVersion, Team, TeamMember, User
from leadflow.pipeline.rules import RuleSet
from leadflow.pipeline.rulesets import rules_as_json

FORMS = [
    {"key": "contato", "name": "Fale conosco", "source": "site"},
    {"key": "lancamento-jardins", "name": "Lançamento Jardins", "source": "site"},
]
# Ana takes a double share and the high-end leads; Carla is capped while she is new.
ROLETA: dict[str, dict[str, object]] = {
    "ana@demo.example.com": {"weight": 2, "routing_groups": ["alto-padrao"]},
    "bruno@demo.example.com": {"weight": 1, "routing_groups": ["alto-padrao"]},
    "carla@demo.example.com": {"weight": 1, "capacity": 25},
}
RULES: list[dict[str, Any]] = [
    {
        "id": "google-ads-quente",
        "name": "Clique de anúncio Google: lead quente, resposta em 10 minutos",
        "when": {
            "any": [
                {"field": "event.channel", "op": "eq", "value": "Paid Search"},
                {"field": "event.click_ids", "op": "contains", "value": "gclid"},
            ]
        },
        "actions": [{"tag": "google-ads"}, {"score": 20}, {"set": {"temperature": "quente"}}, {"sla_minutes": 10}],
    },
    {
        "id": "meta-ads",
        "name": "Anúncios Meta (Facebook/Instagram) ganham a etiqueta meta-ads",
        "when": {"field": "event.channel", "op": "in", "value": ["Paid Social", "Organic Social"]},
        "actions": [{"tag": "meta-ads"}, {"score": 10}],
    },
    {
        "id": "alto-padrao",
        "name": "Campanhas de alto padrão vão para o grupo alto-padrao",
        "when": {"field": "event.utm_campaign", "op": "contains", "value": "alto-padrao"},
        "actions": [{"route": {"group": "alto-padrao"}}, {"tag": "alto-padrao"}],
    },
    {
        "id": "fora-do-horario",
        "name": "Fora do horário comercial: prazo de resposta de 60 minutos",
        "when": {
            "not": {"time_of_day": {"from": "08:00", "to": "20:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}}
        },
        "actions": [{"sla_minutes": 60}],
    },
]


async def seed_demo_pipeline(db: Database, tenant_id: uuid.UUID) -> None:
    """Idempotent: forms, roleta settings and the first rule set are created once."""
    scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
    async with db.session(scope) as session:
        team = (await session.scalars(select(Team).where(Team.name == "Vendas"))).one()
        existing = set((await session.scalars(select(LeadForm.key))).all())
        for form in FORMS:
            if form["key"] not in existing:
                session.add(LeadForm(**form, team_id=team.id))
        members = (
            await session.execute(
                select(TeamMember, User).join(User, User.id == TeamMember.user_id).where(TeamMember.team_id == team.id)
            )
        ).all()
        for member, user in members:
            for name, value in ROLETA.get(user.email, {}).items():
                setattr(member, name, value)
        if (await session.scalars(select(RuleSetVersion.id).limit(1))).first() is None:
            rules = rules_as_json(RuleSet(version=1, rules=RULES).rules)  # validated like a manager's save
            session.add(RuleSetVersion(version=1, rules=rules, note="Regras iniciais da demonstração"))
