"""The landing pages' settings (a tenant's ``settings["site"]``) and what each page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from leadflow.models import Development, Property
from leadflow.property.schemas import DevelopmentRead

log = structlog.get_logger("leadflow.site")


class ChatwootWidget(BaseModel):
    """The Chatwoot website inbox whose widget the pages load (Settings → Inboxes → Website → Configuration)."""

    model_config = ConfigDict(extra="ignore")

    base_url: HttpUrl = Field(examples=["https://chat.imobiliaria-exemplo.com.br"])
    website_token: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$", examples=["dQ8uKfX3bL2h9sPzR7tY4wNv"])


class SiteSettings(BaseModel):
    """``tenants.settings["site"]``: what the landing pages need beyond the CRM's listings.

    ``write_key`` is the site's public write key in clear (it is printed in every page anyway; the API keeps only
    its hash, so the pages cannot learn it otherwise).
    """

    model_config = ConfigDict(extra="ignore")

    write_key: str | None = Field(default=None, max_length=256)
    form_key: str = Field(default="contato", max_length=64, description="The form of pages with no form of their own")
    description: str | None = Field(default=None, max_length=300, description="The home page's meta description")
    chatwoot: ChatwootWidget | None = None

    @classmethod
    def of_tenant(cls, tenant_settings: dict[str, Any]) -> SiteSettings:
        """Read leniently: a broken setting must not take the public site down, so it is logged and ignored."""
        raw = tenant_settings.get("site")
        if not isinstance(raw, dict):
            return cls()
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            log.warning("site settings ignored", errors=exc.errors(include_url=False, include_input=False))
            return cls()


@dataclass(frozen=True, slots=True)
class LeadFormView:
    """The form a page posts: its key and the context fields it carries besides the visitor's own."""

    key: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SiteFrame:
    """What every page of the tenant's site has: its name, the t.js tags and the chat widget."""

    name: str
    locale: str
    settings: SiteSettings
    tracking_html: str | None


@dataclass(frozen=True, slots=True)
class HomePage:
    frame: SiteFrame
    developments: list[DevelopmentRead]
    properties: list[Property]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DevelopmentPage:
    frame: SiteFrame
    development: DevelopmentRead
    units: list[Property]
    form: LeadFormView | None


@dataclass(frozen=True, slots=True)
class PropertyPage:
    frame: SiteFrame
    property: Property
    development: Development | None
    form: LeadFormView | None


@dataclass(frozen=True, slots=True)
class NotPublic:
    """The listing asked for is not on the site (unknown, deleted, unavailable or another tenant's)."""

    frame: SiteFrame


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    path: str
    updated_at: str  # W3C date (YYYY-MM-DD)
