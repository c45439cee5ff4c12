"""The tracking script as served (compacted, hashed, gzipped once per process) and the install snippet of a site."""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import re
from dataclasses import dataclass
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.crypto import digest
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.tracking.repository import WriteKeyRepository
from leadflow.tracking.schemas import WRITE_KEY_PLACEHOLDER, ScriptInfo, TrackingSnippet, WriteKeySite

MEDIA_TYPE = "application/javascript; charset=utf-8"
# `/t.js` may change with a release: browsers keep it five minutes, then revalidate with its ETag.
SHORT_CACHE = "public, max-age=300"
# A versioned URL names exactly one build, so it never changes.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
HASH_LENGTH = 16
MAX_KEY_LENGTH = 256
VERSION_PATTERN = re.compile(r'var VERSION = "([^"]+)";')
QUEUE_STUB = (
    "window.leadflow=window.leadflow||{_q:[]};"
    '["identify","track","page","consent"].forEach(function(m){window.leadflow[m]=window.leadflow[m]||'
    "function(){window.leadflow._q.push([m,[].slice.call(arguments)])}});"
)
# Any origin may load the script (a <script> tag needs no CORS; these let `crossorigin` and COEP pages use it).
PUBLIC_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}


class InvalidWriteKey(ValidationFailed):
    code = "invalid-write-key"
    title = "Not a live write key of this tenant"


@dataclass(frozen=True, slots=True)
class TrackingScript:
    body: bytes
    gzipped: bytes
    hash: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.hash}"'

    @property
    def gzip_etag(self) -> str:
        # Another representation of the same content: its own strong validator (RFC 9110 §8.8.3).
        return f'"{self.hash}-gzip"'


@dataclass(frozen=True, slots=True)
class ScriptDelivery:
    status: int
    body: bytes
    headers: dict[str, str]


def compact(source: str) -> str:
    """Drops indentation, blank lines and comment lines: t.js keeps its comments on lines of their own.

    Line breaks stay, so automatic semicolon insertion reads the code exactly as written.
    """
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


@functools.cache
def tracking_script() -> TrackingScript:
    """The script as served, built once per process from the packaged source."""
    source = resources.files("leadflow.tracking").joinpath("static/t.js").read_text(encoding="utf-8")
    match = VERSION_PATTERN.search(source)
    if match is None:
        raise RuntimeError("t.js declares no VERSION")
    body = compact(source).encode("utf-8")
    return TrackingScript(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        hash=hashlib.sha256(body).hexdigest()[:HASH_LENGTH],
        version=match.group(1),
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it; ``*`` allows it)."""
    allowed: dict[str, bool] = {}
    for part in accept_encoding.lower().split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding] = quality > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


def _matches(if_none_match: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/ prefixes do not matter.
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def deliver(script: TrackingScript, *, accept_encoding: str, if_none_match: str | None, pinned: bool) -> ScriptDelivery:
    """The answer to a GET of the script: gzip when accepted, 304 when the browser's copy is current.

    ``pinned``: the URL names this build's hash, so it may be cached for good.
    """
    gzipped = accepts_gzip(accept_encoding)
    etag = script.gzip_etag if gzipped else script.etag
    headers = {
        **PUBLIC_HEADERS,
        "Cache-Control": IMMUTABLE_CACHE if pinned else SHORT_CACHE,
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if if_none_match is not None and _matches(if_none_match, etag):
        return ScriptDelivery(304, b"", headers)
    headers["Content-Type"] = MEDIA_TYPE
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return ScriptDelivery(200, script.gzipped if gzipped else script.body, headers)


def script_info(script: TrackingScript, base_url: str) -> ScriptInfo:
    base = base_url.rstrip("/")
    return ScriptInfo(
        url=f"{base}/t.js",
        versioned_url=f"{base}/t/{script.hash}.js",
        version=script.version,
        hash=script.hash,
        size_bytes=len(script.body),
        gzip_bytes=len(script.gzipped),
    )


def snippet_html(*, script_url: str, write_key: str, version: str, consent_required: bool) -> str:
    """The two tags a site pastes: the queue stub (calls made before the script loads are kept) and the script."""
    consent = ' data-consent="required"' if consent_required else ""
    return (
        f"<!-- leadflow t.js {version} -->\n"
        f"<script>{QUEUE_STUB}</script>\n"
        f'<script async src="{html.escape(script_url)}" data-write-key="{html.escape(write_key)}"{consent}></script>'
    )


async def _check_write_key(session: AsyncSession, write_key: str) -> None:
    if len(write_key) > MAX_KEY_LENGTH or not write_key.isprintable():
        raise InvalidWriteKey("write_key is not a live write key of this tenant", errors=[{"field": "write_key"}])
    try:
        key_hash = digest(write_key)
    except UnicodeEncodeError:
        key_hash = ""
    if not key_hash or await WriteKeyRepository(session).live_by_hash(key_hash, utcnow()) is None:
        raise InvalidWriteKey("write_key is not a live write key of this tenant", errors=[{"field": "write_key"}])


async def site_snippet(
    session: AsyncSession, scope: Scope, *, base_url: str, write_key: str | None, consent_required: bool
) -> TrackingSnippet:
    """The snippet for the tenant's host. Write keys are hashed at rest: only a key the caller supplies (and that
    is one of the tenant's live write keys) can be written into it; otherwise it holds a placeholder."""
    if write_key is not None:
        await _check_write_key(session, write_key)
    keys = await WriteKeyRepository(session).live(utcnow())
    script = tracking_script()
    info = script_info(script, base_url)
    return TrackingSnippet(
        html=snippet_html(
            script_url=info.url,
            write_key=write_key or WRITE_KEY_PLACEHOLDER,
            version=script.version,
            consent_required=consent_required,
        ),
        write_key=write_key,
        consent_required=consent_required,
        script=info,
        allowed_origins=sorted({origin for key in keys for origin in key.allowed_origins}),
        write_keys=[WriteKeySite.model_validate(key) for key in keys],
    )
