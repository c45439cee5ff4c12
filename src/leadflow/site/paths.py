"""The public URLs of listings: one place, so the pages, their links and the sitemap agree."""

from __future__ import annotations

from urllib.parse import quote

DEVELOPMENTS = "/empreendimentos"
PROPERTIES = "/imoveis"


def development_path(slug: str) -> str:
    return f"{DEVELOPMENTS}/{quote(slug, safe='')}"


def property_path(reference: str) -> str:
    """References are codes compared upper-case; the URL shows them lower-case (``/imoveis/ap-0001``)."""
    return f"{PROPERTIES}/{quote(reference.lower(), safe='')}"
