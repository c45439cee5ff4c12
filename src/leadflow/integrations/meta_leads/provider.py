"""Meta Lead Ads: the webhook carries no personal data, only ids; the lead is fetched by ``leadgen_id`` with the
page token and its form fields mapped to person and lead, with campaign, ad set, ad and form as attribution."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import Delivery, Refused
from leadflow.integrations.delivery_keys import delivery_key
from leadflow.integrations.graph import DEFAULT_BASE_URL, DEFAULT_VERSION, GraphClient
from leadflow.integrations.jsonbody import json_body
from leadflow.integrations.metahooks import handshake_answer, verify_signature

LEAD_FIELDS = (
    "created_time,field_data,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,is_organic,platform"
)
NAME_FIELDS = ("full_name", "nome_completo", "nome")
EMAIL_FIELDS = ("email", "e-mail")
PHONE_FIELDS = ("phone_number", "telefone", "celular", "whatsapp")


class MetaLeadsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_id: str = Field(pattern=r"^[0-9]{5,32}$", examples=["104000000000001"])
    graph_base_url: str = Field(default=DEFAULT_BASE_URL, max_length=300, pattern=r"^https?://")
    graph_version: str = Field(default=DEFAULT_VERSION, pattern=r"^v[0-9]+\.[0-9]+$")
    app_secret: SecretStr = Field(min_length=1, max_length=200)
    verify_token: SecretStr = Field(min_length=1, max_length=200)
    page_access_token: SecretStr = Field(min_length=1, max_length=1000, description="leads_retrieval permission")


@dataclass(frozen=True, slots=True)
class LeadgenNotice:
    leadgen_id: str
    form_id: str | None
    page_id: str | None
    ad_id: str | None
    adgroup_id: str | None


@dataclass(frozen=True, slots=True)
class AdLead:
    """A Lead Ads lead as fetched: contact fields, the other answers, and where it came from."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    answers: dict[str, str] = field(default_factory=dict)
    attribution: dict[str, str] = field(default_factory=dict)
    platform: str | None = None


class MetaLeadsSource:
    def __init__(self, settings: MetaLeadsSettings) -> None:
        self._settings = settings

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        return verify_signature(self._settings.app_secret.get_secret_value(), headers, raw)

    def answer(self, query: Mapping[str, str]) -> str | None:
        return handshake_answer(self._settings.verify_token.get_secret_value(), query)

    def read(self, raw: bytes) -> Delivery:
        body = json_body(raw)
        if not isinstance(body, dict) or body.get("object") != "page":
            raise Refused("not a page notification")
        notices = read_leadgen(body)
        return Delivery(key=delivery_key("leadgen", [n.leadgen_id for n in notices], raw), body=body)


class MetaLeadsClient:
    def __init__(self, settings: MetaLeadsSettings, *, client: GraphClient | None = None) -> None:
        self._client = client or GraphClient(
            token=settings.page_access_token.get_secret_value(),
            base_url=settings.graph_base_url,
            version=settings.graph_version,
        )
        self._page_id = settings.page_id

    async def fetch_lead(self, leadgen_id: str) -> AdLead:
        return read_ad_lead(await self._client.get_json(leadgen_id, params={"fields": LEAD_FIELDS}))

    async def test(self) -> None:
        await self._client.get_json(self._page_id, params={"fields": "id,name"})


def read_leadgen(body: Any) -> list[LeadgenNotice]:
    notices = []
    for entry in body.get("entry", []) if isinstance(body, dict) else []:
        for change in entry.get("changes", []) if isinstance(entry, dict) else []:
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change["value"] if isinstance(change.get("value"), dict) else {}
            leadgen_id = _id(value.get("leadgen_id"))
            if leadgen_id:
                notices.append(
                    LeadgenNotice(
                        leadgen_id=leadgen_id,
                        form_id=_id(value.get("form_id")),
                        page_id=_id(value.get("page_id")),
                        ad_id=_id(value.get("ad_id")),
                        adgroup_id=_id(value.get("adgroup_id")),
                    )
                )
    return notices


def read_ad_lead(body: dict[str, Any]) -> AdLead:
    answers: dict[str, str] = {}
    for item in body.get("field_data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        values = [str(v) for v in item.get("values") or [] if isinstance(v, str | int | float)]
        if values:
            answers[item["name"][:60]] = ", ".join(values)[:500]
    first_last = " ".join(v for v in (answers.get("first_name"), answers.get("last_name")) if v)
    attribution = {
        key: str(body[key])[:200]
        for key in ("campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "form_id")
        if body.get(key) not in (None, "")
    }
    return AdLead(
        id=str(body.get("id") or ""),
        name=_first(answers, NAME_FIELDS) or first_last or None,
        email=_first(answers, EMAIL_FIELDS),
        phone=_first(answers, PHONE_FIELDS),
        answers={k: v for k, v in answers.items() if k not in (*NAME_FIELDS, *EMAIL_FIELDS, *PHONE_FIELDS)},
        attribution=attribution,
        platform=body.get("platform") if isinstance(body.get("platform"), str) else None,
    )


def _first(answers: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((answers[n] for n in names if answers.get(n)), None)


def _id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value[:64] if isinstance(value, str) and value else None
