"""Activities are seen by whoever sees their lead, enforced where tenancy is (``kit.scope``), not per endpoint.

An interaction, task, visit or attachment tied to a lead is visible only if that lead is: the rule reads
``lead_id IN (SELECT id FROM leads)``, and the scope applies the lead's own visibility rule (a broker's own
leads, a manager's teams) to that subquery. Rows tied to no lead (a note on a person, a property's floor plan)
are visible to the whole tenant. Scopes that see every lead (owners, viewers, API keys, jobs) get no subquery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select

from leadflow.kit.scope import Scope, VisibilityRule, register_visibility
from leadflow.lead.visibility import leads_visible_to
from leadflow.models import Attachment, Interaction, Lead, Task, Visit

ACTIVITY_MODELS: tuple[type[Any], ...] = (Interaction, Task, Visit, Attachment)


def _within_visible_leads(model: type[Any]) -> VisibilityRule:
    def rule(scope: Scope) -> ColumnElement[bool] | None:
        if leads_visible_to(scope) is None:
            return None
        return or_(model.lead_id.is_(None), model.lead_id.in_(select(Lead.id)))

    return rule


for _model in ACTIVITY_MODELS:
    register_visibility(_model, _within_visible_leads(_model))
