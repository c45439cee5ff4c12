"""Enrich stage helpers: attribution from the landing URL and Segment's context, device from the user agent,
contact data normalised. Pure functions over outside input: they never raise and never touch the database."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote_plus

import ua_parser

from leadflow.kit import br
from leadflow.pipeline.channels import Channel, channel_group, referrer_host

MAX_VALUE_LENGTH = 255
MAX_URL_LENGTH = 2048
# ua-parser's pure-Python resolver walks hundreds of regexes; real user agents stay well under this.
MAX_USER_AGENT_LENGTH = 512

UTM_FIELDS: tuple[str, ...] = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id")
CLICK_ID_FIELDS: tuple[str, ...] = (
    "gclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "ttclid",
    "li_fat_id",
    "ctwa_clid",
)
_MARKETING = frozenset((*UTM_FIELDS, *CLICK_ID_FIELDS))
# Segment's context.campaign names (contracts §1.1) → our utm fields.
SEGMENT_CAMPAIGN_FIELDS: Mapping[str, str] = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "term": "utm_term",
    "content": "utm_content",
    "id": "utm_id",
}
BOT_WORDS = re.compile(r"bot\b|bot/|crawl|spider|slurp|headlesschrome|lighthouse|facebookexternalhit", re.IGNORECASE)
MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS", "Symbian OS"})
DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora", "FreeBSD"})
TABLET_FAMILIES = re.compile(r"ipad|tablet|kindle|galaxy tab|nexus (7|9|10)", re.IGNORECASE)

_Normalizer = Callable[[str], str]

_UA_PARSER = ua_parser.Parser.from_matchers(ua_parser.load_builtins())


class DeviceType(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where a visit came from: UTM values, ad click ids, referrer, landing page and the resulting channel."""

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    utm_id: str | None = None
    gclid: str | None = None
    gbraid: str | None = None
    wbraid: str | None = None
    fbclid: str | None = None
    msclkid: str | None = None
    ttclid: str | None = None
    li_fat_id: str | None = None
    ctwa_clid: str | None = None
    referrer: str | None = None
    referrer_host: str | None = None
    landing_page: str | None = None
    channel: str = Channel.DIRECT.value

    @property
    def click_ids(self) -> dict[str, str]:
        """The click ids the visit carries, by parameter name."""
        return {name: value for name in CLICK_ID_FIELDS if (value := getattr(self, name)) is not None}


@dataclass(frozen=True, slots=True)
class Device:
    device_type: DeviceType = DeviceType.UNKNOWN
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None


@dataclass(frozen=True, slots=True)
class ContactProblem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Contact:
    """Normalised e-mail and phone (E.164); a value that could not be read is None and named in ``problems``."""

    email: str | None
    phone: str | None
    problems: tuple[ContactProblem, ...] = ()


def attribution_from_url(landing_page: str, referrer: str | None) -> Attribution:
    """UTM values and click ids from the landing page's query string (keys case-insensitive, first value wins)."""
    page = _clean(landing_page, MAX_URL_LENGTH)
    params = _query_params(page or "")
    values = {name: params[name] for name in (*UTM_FIELDS, *CLICK_ID_FIELDS) if name in params}
    clean_referrer = _clean(referrer, MAX_URL_LENGTH)
    found = Attribution(
        **values,
        referrer=clean_referrer,
        referrer_host=referrer_host(clean_referrer),
        landing_page=marketing_url(page) if page else None,
    )
    return _with_channel(found)


def merge_attribution(page: Attribution, campaign: Mapping[str, str] | None) -> Attribution:
    """Segment's ``context.campaign`` ({source, medium, name, term, content}) wins over the URL, value by value."""
    if not isinstance(campaign, Mapping):
        return page
    overrides = {
        field: value
        for key, field in SEGMENT_CAMPAIGN_FIELDS.items()
        if (value := _clean(campaign.get(key), MAX_VALUE_LENGTH)) is not None
    }
    return _with_channel(dataclasses.replace(page, **overrides)) if overrides else page


def attribution_from_fields(fields: Mapping[str, object]) -> Attribution:
    """A touch sent as named fields (a form's hidden fields, t.js's stored touch): the landing page's query string
    first, then each named UTM value or click id over it."""
    landing = fields.get("landing_page") or fields.get("page_url")
    found = attribution_from_url(landing if isinstance(landing, str) else "", _text_field(fields, "referrer"))
    overrides = {
        name: value
        for name in (*UTM_FIELDS, *CLICK_ID_FIELDS)
        if (value := _clean(fields.get(name), MAX_VALUE_LENGTH)) is not None
    }
    return _with_channel(dataclasses.replace(found, **overrides)) if overrides else found


def touch_values(attribution: Attribution) -> dict[str, str]:
    """A touch as the lead keeps it: the fields that have a value, the channel included."""
    return {key: value for key, value in dataclasses.asdict(attribution).items() if value is not None}


def _text_field(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) else None


def device_from_user_agent(ua: str | None) -> Device:
    """Device type, browser and OS from a User-Agent header; anything unreadable is ``unknown``/None."""
    text = _clean(ua, MAX_USER_AGENT_LENGTH)
    if text is None:
        return Device()
    try:
        parsed = _UA_PARSER.parse(text)
    except Exception:  # a third-party regex table on hostile input: a bad header must not stop the pipeline
        return Device()
    browser = _family(parsed.user_agent)
    os_name = _family(parsed.os)
    return Device(
        device_type=_device_type(text, parsed, os_name),
        browser=browser,
        browser_version=_version(parsed.user_agent) if browser else None,
        os=os_name,
        os_version=_version(parsed.os) if os_name else None,
    )


def normalize_contact(*, email: str | None, phone: str | None, region: str = "BR") -> Contact:
    """E-mail lower-cased and validated, phone in E.164 (Brazilian ninth digit added); never raises."""
    problems: list[ContactProblem] = []
    normal_email = _normalized("email", email, br.normalize_email, problems)
    normal_phone = _normalized("phone", phone, lambda raw: br.normalize_phone(raw, region), problems)
    return Contact(email=normal_email, phone=normal_phone, problems=tuple(problems))


def _normalized(field: str, raw: str | None, normalize: _Normalizer, problems: list[ContactProblem]) -> str | None:
    text = _clean(raw, None)
    if text is None:
        return None
    try:
        return normalize(text)
    except br.InvalidValue as exc:
        problems.append(ContactProblem(field=field, message=str(exc)))
    except Exception:  # libphonenumber and email-validator have more failure modes than they document
        problems.append(ContactProblem(field=field, message=f"{field} could not be read"))
    return None


def _with_channel(attribution: Attribution) -> Attribution:
    channel = channel_group(
        source=attribution.utm_source,
        medium=attribution.utm_medium,
        campaign=attribution.utm_campaign,
        referrer=attribution.referrer,
        click_ids=attribution.click_ids,
    )
    return dataclasses.replace(attribution, channel=str(channel))


def marketing_url(url: str) -> str:
    """The address with only its UTM and click-id parameters, as written, and no fragment: a site that pre-fills
    its form from the query string puts the visitor's e-mail there, and the lead, its conversions, the audit log
    and the partners must not keep it (LGPD: the event log keeps the whole address, sealed)."""
    base, _, rest = url.partition("#")[0].partition("?")
    kept = [part for part in rest.split("&") if unquote_plus(part.partition("=")[0]).strip().lower() in _MARKETING]
    return f"{base}?{'&'.join(kept)}" if kept else base


def _query_params(url: str) -> dict[str, str]:
    query = url.partition("?")[2].partition("#")[0]
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        name = key.strip().lower()
        cleaned = _clean(value, MAX_VALUE_LENGTH)
        if cleaned is not None and name not in params:
            params[name] = cleaned
    return params


def _clean(value: object, limit: int | None) -> str | None:
    """Trimmed text without NUL characters (PostgreSQL refuses them), cut at ``limit``; empty becomes None."""
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()[:limit].strip()
    return text or None


def _family(part: ua_parser.UserAgent | ua_parser.OS | None) -> str | None:
    if part is None or part.family == "Other":
        return None
    return part.family


def _version(part: ua_parser.UserAgent | ua_parser.OS | None) -> str | None:
    if part is None:
        return None
    numbers = [n for n in (part.major, part.minor, part.patch) if n]
    return ".".join(numbers) or None


def _device_type(text: str, parsed: ua_parser.Result, os_name: str | None) -> DeviceType:
    device_family = parsed.device.family if parsed.device else ""
    if device_family == "Spider" or BOT_WORDS.search(text):
        return DeviceType.BOT
    if TABLET_FAMILIES.search(device_family) or TABLET_FAMILIES.search(text):
        return DeviceType.TABLET
    if parsed.device and parsed.device.brand == "Generic_Android_Tablet":
        return DeviceType.TABLET
    if os_name == "Android" and "mobile" not in text.lower():
        return DeviceType.TABLET  # Google's rule: Android browsers on tablets leave out "Mobile"
    if os_name in MOBILE_OS or "mobi" in text.lower():
        return DeviceType.MOBILE
    if os_name in DESKTOP_OS:
        return DeviceType.DESKTOP
    return DeviceType.UNKNOWN
