"""Channel grouping: which marketing channel brought a visit (GA4 default channel group + leadflow's channels).

The rules follow contracts §1.7 in GA4's order, first match wins, everything compared case-insensitively.
leadflow's own channels (portals, WhatsApp, Lead Ads) are checked right after Direct and Cross-network, before
GA4's paid, organic and referral rules that would otherwise claim them (a ZAP listing is "Referral" for GA4, a
WhatsApp ad with ``utm_medium=cpc`` would be "Paid Other").

The source lists are leadflow's own (GA4's are Google-internal); bump ``SOURCE_LISTS_VERSION`` when they change
so replays can tell which lists classified an event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

SOURCE_LISTS_VERSION = "2026-11-23"

DIRECT_SOURCE = "(direct)"
NONE_MEDIUM = "(none)"
NOT_SET = "(not set)"


class Channel(StrEnum):
    DIRECT = "Direct"
    CROSS_NETWORK = "Cross-network"
    WHATSAPP_ADS = "WhatsApp Ads"
    LEAD_ADS = "Lead Ads"
    PORTALS = "Portals"
    WHATSAPP = "WhatsApp"
    PAID_SHOPPING = "Paid Shopping"
    PAID_SEARCH = "Paid Search"
    PAID_SOCIAL = "Paid Social"
    PAID_VIDEO = "Paid Video"
    DISPLAY = "Display"
    PAID_OTHER = "Paid Other"
    ORGANIC_SHOPPING = "Organic Shopping"
    ORGANIC_SOCIAL = "Organic Social"
    ORGANIC_VIDEO = "Organic Video"
    ORGANIC_SEARCH = "Organic Search"
    REFERRAL = "Referral"
    EMAIL = "Email"
    AFFILIATES = "Affiliates"
    AUDIO = "Audio"
    SMS = "SMS"
    MOBILE_PUSH_NOTIFICATIONS = "Mobile Push Notifications"
    UNASSIGNED = "Unassigned"


SEARCH_SOURCES: frozenset[str] = frozenset(
    {
        "google", "google.com", "google.com.br", "google.pt", "google.com.ar", "google.com.mx", "google.cl",
        "google.com.co", "google.com.pe", "google.com.uy", "google.com.py", "google.co.uk", "google.es",
        "google.de", "google.fr", "google.it", "google.ca", "google.co.jp", "com.google.android.googlequicksearchbox",
        "bing", "bing.com", "cn.bing.com", "yahoo", "yahoo.com", "search.yahoo.com", "br.search.yahoo.com",
        "uol", "busca", "busca.uol.com.br", "bol", "busca.bol.uol.com.br", "duckduckgo", "duckduckgo.com",
        "ecosia", "ecosia.org", "baidu", "baidu.com", "yandex", "yandex.com", "yandex.ru", "ask", "ask.com",
        "aol", "search.aol.com", "naver", "naver.com", "qwant", "qwant.com", "startpage", "startpage.com",
        "search.brave.com", "brave", "seznam", "seznam.cz",
    }
)  # fmt: skip

SOCIAL_SOURCES: frozenset[str] = frozenset(
    {
        "facebook", "facebook.com", "m.facebook.com", "l.facebook.com", "lm.facebook.com", "web.facebook.com",
        "fb", "fb.com", "fb.me", "meta", "instagram", "instagram.com", "l.instagram.com", "ig", "threads",
        "threads.net", "linkedin", "linkedin.com", "lnkd.in", "twitter", "twitter.com", "t.co", "x.com",
        "tiktok", "tiktok.com", "pinterest", "pinterest.com", "br.pinterest.com", "pin.it", "reddit",
        "reddit.com", "kwai", "kwai.com", "telegram", "t.me", "snapchat", "snapchat.com", "tumblr",
        "tumblr.com", "quora", "quora.com", "discord", "discord.com", "messenger", "messenger.com",
    }
)  # fmt: skip

VIDEO_SOURCES: frozenset[str] = frozenset(
    {
        "youtube", "youtube.com", "m.youtube.com", "youtu.be", "vimeo", "vimeo.com", "twitch", "twitch.tv",
        "dailymotion", "dailymotion.com", "globoplay", "globoplay.globo.com", "wistia", "wistia.com",
    }
)  # fmt: skip

SHOPPING_SOURCES: frozenset[str] = frozenset(
    {
        "mercadolivre", "mercadolivre.com.br", "mercadolibre", "mercadolibre.com", "amazon", "amazon.com",
        "amazon.com.br", "shopee", "shopee.com.br", "magalu", "magazineluiza", "magazineluiza.com.br",
        "americanas", "americanas.com.br", "aliexpress", "aliexpress.com", "ebay", "ebay.com", "buscape",
        "buscape.com.br", "zoom.com.br", "shopping.google.com", "google shopping", "igshopping", "shopify",
    }
)  # fmt: skip

PORTAL_SOURCES: frozenset[str] = frozenset(
    {
        "zap", "zapimoveis", "zapimoveis.com.br", "vivareal", "vivareal.com.br", "olx", "olx.com.br",
        "imovelweb", "imovelweb.com.br", "quintoandar", "quintoandar.com.br", "chavesnamao",
        "chavesnamao.com.br",
    }
)  # fmt: skip

WHATSAPP_SOURCES: frozenset[str] = frozenset(
    {"whatsapp", "whatsapp.com", "wa.me", "api.whatsapp.com", "web.whatsapp.com", "chat.whatsapp.com", "wa"}
)

# Click id → (source, medium) implied when the visit carries no utm_source. fbclid is added by Facebook to every
# outbound link, organic posts included, so it implies no medium (contracts §1.7: "do not infer paid"); ttclid and
# li_fat_id are appended only to ad clicks. Earlier entries win when a URL carries several.
CLICK_ID_SOURCES: Mapping[str, tuple[str, str | None]] = {
    "ctwa_clid": ("whatsapp", "cpc"),
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "msclkid": ("bing", "cpc"),
    "ttclid": ("tiktok", "cpc"),
    "li_fat_id": ("linkedin", "cpc"),
    "fbclid": ("facebook", None),
}

PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
VIDEO_MEDIUM = re.compile(r"^(.*video.*)$")
DISPLAY_MEDIUMS = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
SOCIAL_MEDIUMS = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
REFERRAL_MEDIUMS = frozenset({"referral", "app", "link"})
EMAIL_NAMES = frozenset({"email", "e-mail", "e_mail", "e mail"})
LEAD_ADS_MEDIUMS = frozenset({"lead_ads", "lead-ads"})
LEAD_ADS_SOURCES = frozenset({"meta_lead_ads", "meta-lead-ads"})


@dataclass(frozen=True, slots=True)
class Touch:
    """A visit's effective source, medium and campaign after inference, lower-cased, ready for the rules."""

    source: str
    medium: str
    campaign: str
    referrer_host: str | None
    click_ids: frozenset[str] = field(default_factory=frozenset)


def referrer_host(referrer: str | None) -> str | None:
    """The lower-case host of a referrer URL (``https://www.google.com.br/`` → ``www.google.com.br``)."""
    text = _clean(referrer)
    if text is None:
        return None
    if "//" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:  # malformed IPv6 literals and the like
        return None
    return host or None


def normalize_source_medium(
    *, source: str | None, medium: str | None, referrer: str | None, click_ids: Mapping[str, str]
) -> tuple[str, str]:
    """The effective (source, medium) of a visit, lower-cased.

    utm values win; without a utm_source the source comes from a click id, then from the referrer's host
    (search engines get medium ``organic``, other sites ``referral``); nothing at all is ``(direct)``/``(none)``.
    A utm_source without a utm_medium takes the medium its click id implies: ``?utm_source=google&gclid=…`` is an
    ad click (Paid Search), not an organic visit.
    """
    given_source, given_medium = _lower(source), _lower(medium)
    if given_source is not None:
        implied = _source_from_click_ids(click_ids)
        return given_source, given_medium or (implied[1] if implied else None) or NOT_SET
    inferred = _source_from_click_ids(click_ids) or _source_from_referrer(referrer)
    if inferred is not None:
        return inferred[0], given_medium or inferred[1] or NOT_SET
    if given_medium is not None:
        return NOT_SET, given_medium
    return DIRECT_SOURCE, NONE_MEDIUM


def channel_group(
    *,
    source: str | None,
    medium: str | None,
    campaign: str | None,
    referrer: str | None,
    click_ids: Mapping[str, str],
) -> Channel:
    """The channel (a ``Channel``, which is a ``str``) of a visit; never raises."""
    touch = _touch(source=source, medium=medium, campaign=campaign, referrer=referrer, click_ids=click_ids)
    return next((channel for channel, applies in RULES if applies(touch)), Channel.UNASSIGNED)


def _touch(
    *,
    source: str | None,
    medium: str | None,
    campaign: str | None,
    referrer: str | None,
    click_ids: Mapping[str, str],
) -> Touch:
    effective_source, effective_medium = normalize_source_medium(
        source=source, medium=medium, referrer=referrer, click_ids=click_ids
    )
    return Touch(
        source=_strip_www(effective_source),
        medium=effective_medium,
        campaign=_lower(campaign) or "",
        referrer_host=referrer_host(referrer),
        click_ids=_present_click_ids(click_ids),
    )


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _lower(value: str | None) -> str | None:
    text = _clean(value)
    return text.lower() if text is not None else None


def _strip_www(host: str) -> str:
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def _present_click_ids(click_ids: Mapping[str, str]) -> frozenset[str]:
    return frozenset(str(key).strip().lower() for key, value in click_ids.items() if _clean(value) is not None)


def _source_from_click_ids(click_ids: Mapping[str, str]) -> tuple[str, str | None] | None:
    present = _present_click_ids(click_ids)
    return next((implied for key, implied in CLICK_ID_SOURCES.items() if key in present), None)


def _source_from_referrer(referrer: str | None) -> tuple[str, str] | None:
    host = referrer_host(referrer)
    if host is None:
        return None
    source = _strip_www(host)
    if in_list(source, WHATSAPP_SOURCES):
        return "whatsapp", "referral"
    return source, "organic" if in_list(source, SEARCH_SOURCES) else "referral"


def in_list(source: str | None, names: frozenset[str]) -> bool:
    """True when a source name or host is in a list, subdomains included (``sp.olx.com.br`` is ``olx.com.br``)."""
    if not source:
        return False
    name = _strip_www(source.lower())
    if name in names:
        return True
    labels = name.split(".")
    return any(".".join(labels[i:]) in names for i in range(1, len(labels) - 1))


def _any_in(values: Iterable[str | None], names: frozenset[str]) -> bool:
    return any(in_list(value, names) for value in values)


def _paid(touch: Touch) -> bool:
    return PAID_MEDIUM.match(touch.medium) is not None


def _shopping_campaign(touch: Touch) -> bool:
    return SHOP_CAMPAIGN.match(touch.campaign) is not None


def _is_direct(touch: Touch) -> bool:
    return touch.source == DIRECT_SOURCE and touch.medium in {NOT_SET, NONE_MEDIUM}


def _is_whatsapp_ad(touch: Touch) -> bool:
    return "ctwa_clid" in touch.click_ids or (in_list(touch.source, WHATSAPP_SOURCES) and _paid(touch))


def _is_lead_ad(touch: Touch) -> bool:
    return touch.medium in LEAD_ADS_MEDIUMS or touch.source in LEAD_ADS_SOURCES


def _is_portal(touch: Touch) -> bool:
    return touch.medium == "portal" or _any_in((touch.source, touch.referrer_host), PORTAL_SOURCES)


def _is_whatsapp(touch: Touch) -> bool:
    return _any_in((touch.source, touch.referrer_host), WHATSAPP_SOURCES)


def _is_push(touch: Touch) -> bool:
    medium = touch.medium
    return medium.endswith("push") or "mobile" in medium or "notification" in medium or touch.source == "firebase"


Rule = tuple[Channel, Callable[[Touch], bool]]

# The order is the contract: the first rule that applies names the channel.
RULES: tuple[Rule, ...] = (
    (Channel.DIRECT, _is_direct),
    (Channel.CROSS_NETWORK, lambda t: "cross-network" in t.campaign),
    (Channel.WHATSAPP_ADS, _is_whatsapp_ad),
    (Channel.LEAD_ADS, _is_lead_ad),
    (Channel.PORTALS, _is_portal),
    (Channel.WHATSAPP, _is_whatsapp),
    (Channel.PAID_SHOPPING, lambda t: (in_list(t.source, SHOPPING_SOURCES) or _shopping_campaign(t)) and _paid(t)),
    (Channel.PAID_SEARCH, lambda t: in_list(t.source, SEARCH_SOURCES) and _paid(t)),
    (Channel.PAID_SOCIAL, lambda t: in_list(t.source, SOCIAL_SOURCES) and _paid(t)),
    (Channel.PAID_VIDEO, lambda t: in_list(t.source, VIDEO_SOURCES) and _paid(t)),
    (Channel.DISPLAY, lambda t: t.medium in DISPLAY_MEDIUMS),
    (Channel.PAID_OTHER, _paid),
    (Channel.ORGANIC_SHOPPING, lambda t: in_list(t.source, SHOPPING_SOURCES) or _shopping_campaign(t)),
    (Channel.ORGANIC_SOCIAL, lambda t: in_list(t.source, SOCIAL_SOURCES) or t.medium in SOCIAL_MEDIUMS),
    (Channel.ORGANIC_VIDEO, lambda t: in_list(t.source, VIDEO_SOURCES) or VIDEO_MEDIUM.match(t.medium) is not None),
    (Channel.ORGANIC_SEARCH, lambda t: in_list(t.source, SEARCH_SOURCES) or t.medium == "organic"),
    (Channel.REFERRAL, lambda t: t.medium in REFERRAL_MEDIUMS),
    (Channel.EMAIL, lambda t: t.source in EMAIL_NAMES or t.medium in EMAIL_NAMES),
    (Channel.AFFILIATES, lambda t: t.medium == "affiliate"),
    (Channel.AUDIO, lambda t: t.medium == "audio"),
    (Channel.SMS, lambda t: t.source == "sms" or t.medium == "sms"),
    (Channel.MOBILE_PUSH_NOTIFICATIONS, _is_push),
)
