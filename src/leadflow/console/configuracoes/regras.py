"""Rules: the active version, a draft edited as JSON, and "test against a sample lead": the draft (or the active
rules) run on the facts of a lead typed in the form, showing which rules match, why, and where the lead would be
routed. The test writes nothing; saving makes a new version (the pipeline package's own rule sets)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession
from leadflow.pipeline import rulesets, service
from leadflow.pipeline.rules import Rule, RulesOutcome
from leadflow.pipeline.schemas import RuleSetCreate

router = section_router()
Text = Annotated[str, Form(max_length=200)]
Draft = Annotated[str, Form(max_length=200_000)]
# The sample lead's fields, as the conversion step names them in the facts rules test (pipeline.service).
EVENT_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "channel", "form_key")
LEAD_FIELDS = ("source", "purpose", "region", "neighbourhood", "city", "property_type")
SAMPLE_FIELDS = (*EVENT_FIELDS, *LEAD_FIELDS, "price_max", "at")


async def _render(
    request: Request,
    page: ConsolePage,
    session: AsyncSession,
    form: FormState | None = None,
    *,
    draft: str | None = None,
    sample: dict[str, str] | None = None,
    outcome: RulesOutcome | None = None,
) -> Response:
    versions, _ = await rulesets.list_rule_sets(session, page.scope, cursor=None, limit=10)
    active = versions[0] if versions else None
    if draft is None:
        draft = json.dumps(active.rules if active else [], indent=2, ensure_ascii=False)
    return render_section(
        request,
        page,
        "regras",
        form=form,
        versions=versions,
        active=active,
        draft=draft,
        sample=sample or {},
        outcome=outcome,
        event_fields=EVENT_FIELDS,
        lead_fields=LEAD_FIELDS,
    )


@router.get("/regras")
async def rules_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


def _parsed_rules(draft: str) -> list[Rule] | None:
    """The draft as rules (validated like a save); a blank draft means the active rules."""
    if not draft.strip():
        return None
    try:
        data = json.loads(draft)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("rules: invalid JSON", errors=[{"field": "rules", "message": "Invalid JSON."}]) from exc
    return RuleSetCreate.model_validate({"rules": data}).rules


def sample_facts(sample: dict[str, str]) -> dict[str, Any]:
    """The facts a conversion of this lead would give the rules: only what was filled in (a blank is a missing
    field, as it would be on a real lead)."""
    event: dict[str, Any] = {name: sample[name] for name in EVENT_FIELDS if sample.get(name)}
    lead: dict[str, Any] = {name: sample[name] for name in LEAD_FIELDS if sample.get(name)}
    if event.get("channel"):
        lead["channel"] = event["channel"]
    if price := sample.get("price_max", "").replace(".", "").replace(",", ".").strip():
        try:
            lead["price_max_cents"] = round(float(price) * 100)
        except ValueError as exc:
            raise ValidationFailed("price_max", errors=[{"field": "price_max", "message": "Invalid value."}]) from exc
    return {"event": event, "lead": lead}


def _moment(value: str, time_zone: str) -> datetime:
    if not value:
        return utcnow()
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(time_zone))
    except ValueError as exc:
        raise ValidationFailed("at", errors=[{"field": "at", "message": "Invalid value."}]) from exc


@router.post("/regras/teste")
async def try_rules(request: Request, page: ManagerPage, session: DbSession, rules: Draft = "") -> Response:
    """Runs the rules on the sample lead and shows the outcome; nothing is stored."""
    sent = await request.form()
    sample = {name: str(sent.get(name, ""))[:200].strip() for name in SAMPLE_FIELDS}
    again = partial(_render, request, page, session, draft=rules, sample=sample)

    async def preview() -> Response:
        rule_set = await rulesets.rules_to_preview(session, rules=_parsed_rules(rules))
        time_zone = await service.tenant_time_zone(session, page.scope)
        at = _moment(sample["at"], time_zone)
        outcome = service.preview_rules(rule_set, sample_facts(sample), now=at, tz=time_zone)
        return await again(outcome=outcome)

    return await attempt(preview, again, locale=page.locale, form="rules", values=sample)


@router.post("/regras")
async def save_rules(
    request: Request, page: ManagerPage, session: DbSession, rules: Draft = "", note: Text = ""
) -> Response:
    async def write() -> str:
        parsed = _parsed_rules(rules) or []
        await rulesets.save_rule_set(session, page.scope, rules=parsed, note=note or None)
        return saved("regras", "regras")

    again = partial(_render, request, page, session, draft=rules)
    return await attempt(write, again, locale=page.locale, form="rules", values={"note": note})
