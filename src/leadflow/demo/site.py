"""The demo tenant's public site: t.js with the demo write key, the launch form on its development's page, and
every demo form ending on the site's thank-you page."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Development, LeadForm, Role, Tenant

LAUNCH_FORM = "lancamento-jardins"
LAUNCH_DEVELOPMENT = "residencial-jardim-das-acacias"
THANK_YOU = "/obrigado"


async def seed_demo_site(db: Database, tenant_id: uuid.UUID, *, write_key: str) -> None:
    """Idempotent; runs after the CRM data (the launch form names one of its developments)."""
    async with db.session(Scope.system()) as session:
        tenant = await session.get_one(Tenant, tenant_id)
        site = dict(tenant.settings.get("site") or {})
        if site.get("write_key") != write_key:
            tenant.settings = {**tenant.settings, "site": {**site, "write_key": write_key, "form_key": "contato"}}
    scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
    async with db.session(scope) as session:
        development = (
            await session.scalars(select(Development).where(Development.slug == LAUNCH_DEVELOPMENT))
        ).one_or_none()
        for form in (await session.scalars(select(LeadForm))).all():
            form.thank_you_url = form.thank_you_url or THANK_YOU
            if form.key == LAUNCH_FORM and development is not None and form.development_id is None:
                form.development_id = development.id
