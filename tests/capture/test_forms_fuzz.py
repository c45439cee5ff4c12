"""Property: whatever a browser, a bot or a broken site posts to ``POST /v1/forms/{form_key}``, never a 500; an
accepted post has its event in ``events``; a refused one is answered 4xx or kept in ``rejected_events`` with its
reason and the raw fields."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Event, LeadForm, RejectedEvent, Tenant
from tests import factories
from tests.capture.factories import counts

FORM_KEY = "contato"
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text as forms carry it, and text that breaks storage: NUL, control and RTL characters, emoji, past every limit.
# Lone surrogates and NUL in field names have their own regression tests at the end.
odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("\x00\x1b\u202e\u0085 a"), min_size=1, max_size=6),
    st.sampled_from(["", " ", "\u00a0", "maria@@example", "+55 (11) 9 8765-4321", "null", "<script>", "😀" * 50]),
    st.text(min_size=2100, max_size=2100, alphabet="xé"),  # past every field limit and the 2,048 cut
)
surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
field_names = st.one_of(
    st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=10),
    st.sampled_from(["", " ", "__proto__", "x" * 300, "lf_hp ", "EMAIL"]),
)
emails = st.one_of(st.sampled_from(["maria.silva@gmail.com", "MARIA@Example.COM "]), odd_text)
phones = st.one_of(st.sampled_from(["(11) 98765-4321", "+5511987654321", "1"]), odd_text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(field_names, children, max_size=3),
    max_leaves=8,
)
known_fields = {
    "name": odd_text,
    "email": emails,
    "phone": phones,
    "message": odd_text,
    "lf_hp": st.one_of(st.just(""), st.just(" "), odd_text),
    "lf_tracking_id": odd_text,
    "lf_last_touch": st.one_of(odd_text, json_values.map(json.dumps)),
    "lf_consent": st.sampled_from(["1", "0", "sim", "talvez", ""]),
    "lf_message_id": st.one_of(st.sampled_from(["lf-1", "lf-2"]), odd_text),
    "utm_source": odd_text,
    "utm_campaign": odd_text,
    "gclid": odd_text,
    "page_url": odd_text,
    "referrer": odd_text,
}
form_fields = st.tuples(
    st.fixed_dictionaries({}, optional=known_fields),
    st.dictionaries(field_names, odd_text, max_size=5),  # unknown fields
).map(lambda parts: {**parts[1], **parts[0]})
json_bodies = st.one_of(
    form_fields,
    st.tuples(form_fields, st.dictionaries(field_names, json_values, max_size=4)).map(
        lambda parts: {**parts[1], **parts[0]}
    ),
    json_values,
)
form_keys = st.sampled_from([FORM_KEY, FORM_KEY, "nao-existe", "inativo"])  # the real form half of the time
accepts = st.sampled_from([None, "application/json", "text/html,application/xhtml+xml"])


def _encoded(pairs: list[tuple[str, str]]) -> bytes:
    """x-www-form-urlencoded as a browser writes it; lone surrogates go out as the bytes a broken page would."""
    return "&".join(
        f"{quote_plus(k.encode('utf-8', 'surrogatepass'))}={quote_plus(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in pairs
    ).encode()


MULTIPART_FIELD = b'--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\nmaria@example.com\r\n--xyz--\r\n'
MULTIPART_FILE = (
    b'--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\nmaria@example.com\r\n'
    b'--xyz\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    b"%PDF-1.4\r\n--xyz--\r\n"
)
form_bodies = st.one_of(
    form_fields.map(lambda f: _encoded(list(f.items()))),
    st.sampled_from([MULTIPART_FIELD, MULTIPART_FILE]),  # with content type "multipart/form-data; boundary=xyz"
    st.lists(st.tuples(field_names, odd_text | surrogates), max_size=6).map(_encoded),  # repeated keys too
    st.binary(max_size=200),
    st.just(b"&".join(b"campo%d=x" % n for n in range(250))),  # more fields than a lead form may have
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "multipart/form-data",  # without a boundary
            "multipart/form-data; boundary=xyz",
            "application/json",
            "text/plain",
            "",
        ]
    ),
    st.text(max_size=30).filter(lambda t: t.isprintable() and t.isascii()),
)


@pytest.fixture(name="settings")
def fuzz_settings(settings: Settings) -> Settings:
    # Every example posts from the same address: the per-IP limit (10 a minute) would answer most of them 429.
    return settings.model_copy(
        update={"form_posts_per_ip_per_minute": 100_000, "form_posts_per_form_per_minute": 100_000}
    )


@pytest_asyncio.fixture
async def contact_form(db: Database, tenant: Tenant) -> LeadForm:
    async with db.session(factories.owner_scope(tenant)) as session:
        form = LeadForm(key=FORM_KEY, name="Fale conosco", thank_you_url="https://acme.example.com/obrigado")
        session.add(form)
        session.add(LeadForm(key="inativo", name="Antigo", is_active=False))
    return form


@pytest_asyncio.fixture
async def visitor(app: FastAPI, tenant: Tenant, contact_form: LeadForm) -> Any:
    async with factories.client(app, tenant) as client:
        yield client


@dataclass(frozen=True)
class Stored:
    events: int
    rejected: int


async def _stored(db: Database, tenant: Tenant) -> Stored:
    events, rejected = await counts(db, tenant)
    return Stored(events, rejected)


async def _event(db: Database, tenant: Tenant, event_id: str) -> Event | None:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return await session.get(Event, uuid.UUID(event_id))


async def _latest_rejection(db: Database, tenant: Tenant) -> RejectedEvent:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(RejectedEvent).order_by(RejectedEvent.created_at.desc(), RejectedEvent.id.desc()).limit(1)
        return (await session.execute(stmt)).scalar_one()


@dataclass(frozen=True)
class Post:
    path: str
    body: bytes
    headers: dict[str, str]

    async def send(self, client: httpx.AsyncClient, *, accept: str | None = None) -> httpx.Response:
        headers = self.headers if accept is None else {**self.headers, "accept": accept}
        return await client.post(self.path, content=self.body, headers=headers)


async def _post_and_check(client: httpx.AsyncClient, db: Database, tenant: Tenant, post: Post) -> httpx.Response:
    before = await _stored(db, tenant)
    response = await post.send(client)
    await _check_accounted_for(client, db, tenant, post, before, response)
    return response


async def _check_accounted_for(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, post: Post, before: Stored, response: httpx.Response
) -> None:
    """The property, whatever was posted: no 5xx, and the post is stored once, kept as rejected, or refused."""
    assert response.status_code < 500, response.text
    after = await _stored(db, tenant)
    new_events, new_rejected = after.events - before.events, after.rejected - before.rejected
    if response.status_code >= 400:
        assert new_events == 0, response.text
        assert new_rejected in (0, 1)
        if new_rejected:
            await _check_rejection(db, tenant)
        if response.status_code == 404:  # an unknown or inactive form: the post is kept to be looked at
            assert new_rejected == 1
        return
    assert response.status_code in (202, 303), response.text
    if response.status_code == 303:
        assert response.headers["location"]
    body = response.json() if response.status_code == 202 else None
    if body is not None and body.get("event_id"):
        assert new_rejected == 0
        assert new_events == (0 if body["duplicate"] else 1)
        assert await _event(db, tenant, body["event_id"]) is not None
        return
    if new_rejected == 1:  # the honeypot: answered like a success, kept as spam
        assert new_events == 0
        assert "honeypot" in str((await _latest_rejection(db, tenant)).failure)
        return
    if new_events == 1:  # an HTML post, stored
        return
    # Nothing new: an HTML post of a submission already stored this minute. The JSON answer names its event.
    again = await post.send(client, accept="application/json")
    assert again.status_code == 202, again.text
    assert again.json()["duplicate"] is True
    assert await _event(db, tenant, again.json()["event_id"]) is not None


async def _check_rejection(db: Database, tenant: Tenant) -> None:
    rejection = await _latest_rejection(db, tenant)
    assert rejection.source == "form"
    assert rejection.failure
    assert rejection.failure[0]["message"]
    assert rejection.raw is not None


class TestEveryFormPostIsAccountedFor:
    @FUZZ
    @given(body=json_bodies, form_key=form_keys, accept=accepts)
    async def test_any_json_body_is_stored_kept_as_rejected_or_refused_never_a_500(
        self, visitor: httpx.AsyncClient, db: Database, tenant: Tenant, body: Any, form_key: str, accept: str | None
    ) -> None:
        headers = {"content-type": "application/json", **({"accept": accept} if accept else {})}
        await _post_and_check(visitor, db, tenant, Post(f"/v1/forms/{form_key}", json.dumps(body).encode(), headers))

    @FUZZ
    @given(body=form_bodies, content_type=content_types, form_key=form_keys, accept=accepts)
    @example(body=MULTIPART_FIELD, content_type="multipart/form-data; boundary=xyz", form_key=FORM_KEY, accept=None)
    @example(body=MULTIPART_FILE, content_type="multipart/form-data; boundary=xyz", form_key=FORM_KEY, accept=None)
    async def test_any_form_encoded_body_and_content_type_is_accounted_for_never_a_500(
        self,
        visitor: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        body: bytes,
        content_type: str,
        form_key: str,
        accept: str | None,
    ) -> None:
        headers = {"content-type": content_type, **({"accept": accept} if accept else {})}
        await _post_and_check(visitor, db, tenant, Post(f"/v1/forms/{form_key}", body, headers))

    @settings(FUZZ, max_examples=15)
    @given(form_key=st.text(min_size=1, max_size=80).filter(lambda k: not set(k) & set("/?#") and k.strip(".")))
    async def test_any_form_key_in_the_path_is_refused_or_accepted_never_a_500(
        self, visitor: httpx.AsyncClient, db: Database, tenant: Tenant, form_key: str
    ) -> None:
        body, headers = b'{"email": "maria@example.com"}', {"content-type": "application/json"}
        await _post_and_check(visitor, db, tenant, Post(f"/v1/forms/{quote_plus(form_key)}", body, headers))


class TestTextNoColumnCanHold:
    """Lone surrogates and NUL, which the fuzzing found answering 500, are stored replaced (U+FFFD)."""

    async def test_a_refused_json_post_with_a_lone_surrogate_is_kept_as_rejected_not_a_500(
        self, visitor: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        refused = [
            (FORM_KEY, {"name": "Maria \ud800"}),  # neither e-mail nor phone: 422, kept as rejected
            (FORM_KEY, {"email": "maria@example.com", "lf_hp": "\udfff"}),  # honeypot: 202, kept as spam
            ("nao-existe", {"email": "maria@example.com", "message": "\ud83d"}),  # unknown form: 404, kept
        ]
        for form_key, fields in refused:
            before = await _stored(db, tenant)
            headers = {"content-type": "application/json"}
            await _post_and_check(
                visitor, db, tenant, Post(f"/v1/forms/{form_key}", json.dumps(fields).encode(), headers)
            )
            assert (await _stored(db, tenant)).rejected == before.rejected + 1

    async def test_an_extra_field_whose_name_holds_nul_or_a_lone_surrogate_is_stored_not_a_500(
        self, visitor: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        posts = [
            ("application/json", json.dumps({"email": "maria@example.com", "campo\u0000": "1"}).encode()),
            ("application/json", json.dumps({"email": "maria@example.com", "campo\ud800": "1"}).encode()),
            ("application/x-www-form-urlencoded", b"email=maria%40example.com&campo%00=2"),
        ]
        for content_type, body in posts:
            headers = {"content-type": content_type, "accept": "application/json"}
            response = await _post_and_check(visitor, db, tenant, Post(f"/v1/forms/{FORM_KEY}", body, headers))
            assert response.status_code == 202
