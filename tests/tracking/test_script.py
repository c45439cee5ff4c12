"""t.js is served to any host: small, gzipped when accepted, cached briefly at /t.js and for good when versioned."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.tracking import service

SCRIPT = service.tracking_script()


@pytest_asyncio.fixture
async def any_host() -> AsyncIterator[httpx.AsyncClient]:
    """A client on a host no tenant answers for: the script needs neither a tenant nor the database."""
    settings = Settings(_env_file=None, secret_key=SecretStr("k" * 48), default_tenant=None)
    database = Database(create_engine("sqlite+aiosqlite://"))
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://www.imobiliaria-exemplo.com.br") as client:
        yield client
    await database.dispose()


def identity() -> dict[str, str]:
    return {"Accept-Encoding": "identity"}


class TestTheScript:
    async def test_it_is_javascript_with_a_short_cache_and_an_etag(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers=identity())
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/javascript; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["etag"] == f'"{SCRIPT.hash}"'
        assert response.headers["vary"] == "Accept-Encoding"
        assert "content-encoding" not in response.headers
        assert response.content == SCRIPT.body

    async def test_it_may_be_loaded_from_any_site(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers={"Origin": "https://outro-site.example.net"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        assert response.headers["x-content-type-options"] == "nosniff"

    async def test_it_carries_its_version_and_exposes_the_api(self, any_host: httpx.AsyncClient) -> None:
        text = (await any_host.get("/t.js")).text
        assert f'var VERSION = "{SCRIPT.version}";' in text
        assert 'name: "leadflow.js"' in text
        for method in ("identify:", "track:", "page:", "consent:"):
            assert method in text

    async def test_comment_lines_and_indentation_are_not_served(self, any_host: httpx.AsyncClient) -> None:
        lines = (await any_host.get("/t.js")).text.splitlines()
        assert not [line for line in lines if line.startswith(("//", " ", "\t")) or not line]

    async def test_it_is_small(self) -> None:
        assert len(SCRIPT.gzipped) < 6 * 1024


class TestCompression:
    async def test_gzip_is_sent_when_accepted(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["etag"] == f'"{SCRIPT.hash}-gzip"'
        assert int(response.headers["content-length"]) == len(SCRIPT.gzipped)
        assert response.content == SCRIPT.body  # httpx decoded it

    async def test_the_gzipped_bytes_are_the_script(self) -> None:
        assert gzip.decompress(SCRIPT.gzipped) == SCRIPT.body

    async def test_gzip_refused_with_a_zero_weight_gets_the_plain_script(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(SCRIPT.body)

    @pytest.mark.parametrize(
        ("header", "gzipped"),
        [
            ("gzip", True),
            ("GZIP;q=0.5", True),
            ("br, *", True),
            ("*;q=0, gzip", True),
            ("x-gzip", True),
            ("", False),
            ("identity", False),
            ("gzip;q=0", False),
            ("gzip;q=nonsense", False),
            ("gzip;q=0, *", False),
        ],
    )
    def test_accept_encoding_is_read_with_its_weights(self, header: str, gzipped: bool) -> None:
        assert service.accepts_gzip(header) is gzipped


class TestRevalidation:
    async def test_a_current_etag_is_answered_304_without_a_body(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers={**identity(), "If-None-Match": f'"{SCRIPT.hash}"'})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == f'"{SCRIPT.hash}"'
        assert response.headers["cache-control"] == "public, max-age=300"

    async def test_the_gzip_etag_revalidates_the_gzip_representation(self, any_host: httpx.AsyncClient) -> None:
        headers = {"Accept-Encoding": "gzip", "If-None-Match": f'W/"{SCRIPT.hash}-gzip", "older"'}
        assert (await any_host.get("/t.js", headers=headers)).status_code == 304

    async def test_a_stale_etag_gets_the_script(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", headers={**identity(), "If-None-Match": '"0123456789abcdef"'})
        assert response.status_code == 200
        assert response.content == SCRIPT.body


class TestVersionedUrls:
    async def test_the_hash_path_is_cached_for_good(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get(f"/t/{SCRIPT.hash}.js", headers=identity())
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.content == SCRIPT.body

    async def test_the_hash_query_is_cached_for_good(self, any_host: httpx.AsyncClient) -> None:
        response = await any_host.get("/t.js", params={"v": SCRIPT.hash})
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    async def test_an_old_build_gets_the_current_script_with_the_short_cache(self, any_host: httpx.AsyncClient) -> None:
        for url in ("/t/0123456789abcdef.js", "/t.js?v=0123456789abcdef"):
            response = await any_host.get(url, headers=identity())
            assert response.status_code == 200
            assert response.headers["cache-control"] == "public, max-age=300"
            assert response.content == SCRIPT.body

    async def test_a_version_that_is_no_hash_is_refused(self, any_host: httpx.AsyncClient) -> None:
        assert (await any_host.get("/t/..%2Fsecret.js")).status_code in (404, 422)
        assert (await any_host.get("/t/NOT-HEX.js")).status_code == 422


class TestCompaction:
    def test_comment_lines_blank_lines_and_indentation_go_and_line_breaks_stay(self) -> None:
        source = '(function () {\n  // why\n\n  var a = "http://x"; // kept: not a line of its own\n  a()\n})();\n'
        assert (
            service.compact(source)
            == '(function () {\nvar a = "http://x"; // kept: not a line of its own\na()\n})();\n'
        )
