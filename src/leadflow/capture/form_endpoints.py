"""Lead forms: the public post a site's form makes (HTML or fetch), and the forms a manager configures."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from leadflow.auth.dependencies import Manager
from leadflow.capture import forms
from leadflow.capture.auth import origin_allowed
from leadflow.capture.cors import cors_headers, preflight
from leadflow.capture.schemas import FORM_KEY_PATTERN, FormAccepted, FormCreate, FormRead, FormUpdate
from leadflow.config import Settings
from leadflow.kit.errors import BadRequest, Forbidden, TooManyRequests, UnsupportedMediaType
from leadflow.kit.ratelimit import Counter
from leadflow.kit.schemas import Page
from leadflow.kit.scope import get_scope
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute, request_info
from leadflow.tenant.dependencies import CurrentTenant

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["forms"])
FormKey = Annotated[str, Path(pattern=FORM_KEY_PATTERN, examples=["contato"])]
Limit = Annotated[int, Query(ge=1, le=200)]
HTML_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SUBMIT_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "example": {
                    "name": "Maria Silva",
                    "email": "maria.silva@gmail.com",
                    "phone": "(11) 98765-4321",
                    "message": "Quero agendar uma visita ao decorado.",
                    "lf_tracking_id": "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2",
                    "utm_source": "google",
                    "utm_medium": "cpc",
                    "utm_campaign": "lancamento-jardins",
                    "gclid": "EAIaIQobChMI",
                    "page_url": "https://demo.localhost:8000/empreendimentos/jardins",
                    "referrer": "https://www.google.com/",
                    "lf_hp": "",
                }
            },
            "application/json": {"example": {"name": "Maria Silva", "phone": "+5511987654321"}},
        },
    }
}


@router.post(
    "/forms/{form_key}",
    summary="Submit a lead form (public: HTML post or fetch)",
    description=(
        "Kept in the event log before the answer, then routed by the pipeline. An HTML post is redirected (303) to "
        "the form's thank-you page; JSON gets 202. Honeypot field `lf_hp` must stay empty. Rate limited per IP."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=SUBMIT_DOC,
    responses={303: {"description": "HTML post: redirect to the thank-you page"}},
)
async def submit_form(form_key: FormKey, request: Request, tenant: CurrentTenant, session: DbSession) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and not _same_site(origin, request) and not await origin_allowed(session, origin):
        raise Forbidden(f"origin {origin!r} may not post this tenant's forms")
    info = request_info(request)
    await _throttle(request.app.state.counter, request.app.state.settings, tenant.slug, form_key, info["ip"])
    html, fields = await _read_fields(request)
    visit = forms.Visit(received_at=utcnow(), ip=info["ip"], user_agent=info["user_agent"])
    scope = get_scope(session.sync_session)  # the host's tenant, anonymous (set by CurrentTenant)
    assert scope is not None
    try:
        submitted = await forms.submit(session, scope, form_key=form_key, fields=fields, visit=visit)
    except forms.SpamSubmission:  # the rejected row commits with the answer; the bot sees what a person sees
        return _answer(html, request, None, FormAccepted())
    body = FormAccepted(duplicate=submitted.duplicate, event_id=submitted.event_id)
    return _answer(html, request, submitted.form.thank_you_url, body)


router.add_api_route("/forms/{form_key}", preflight, methods=["OPTIONS"], include_in_schema=False)


def _same_site(origin: str, request: Request) -> bool:
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def _throttle(counter: Counter, settings: Settings, tenant: str, form_key: str, ip: str | None) -> None:
    for key, limit in (
        (f"form:{tenant}:{form_key}:ip:{ip}", settings.form_posts_per_ip_per_minute),
        (f"form:{tenant}:{form_key}", settings.form_posts_per_form_per_minute),
    ):
        if await counter.hit(key, 60) > limit:
            raise TooManyRequests(
                "too many submissions; try again in a minute", retry_after=await counter.retry_after(key)
            )


async def _read_fields(request: Request) -> tuple[bool, dict[str, str]]:
    """(is an HTML post, the fields as text). Files are ignored: a lead form sends text."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in HTML_FORM_TYPES:
        form = await request.form(max_files=0, max_fields=200)
        return True, {key: value for key, value in form.multi_items() if isinstance(value, str)}
    if media_type == "application/json":
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest("the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object of form fields")
        return False, {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items() if v is not None}
    raise UnsupportedMediaType("send the form as application/x-www-form-urlencoded, multipart/form-data or JSON")


def _answer(html: bool, request: Request, thank_you_url: str | None, body: FormAccepted) -> Response:
    if html and "application/json" not in request.headers.get("accept", ""):
        target = thank_you_url or request.headers.get("referer") or "/"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=cors_headers(request))
    return Response(
        body.model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED,
        media_type="application/json",
        headers=cors_headers(request),
    )


# Managing forms


@router.get("/forms", summary="The tenant's lead forms")
async def list_forms(
    scope: Manager, session: DbSession, cursor: str | None = None, limit: Limit = 50
) -> Page[FormRead]:
    rows, next_cursor = await forms.list_forms(session, scope, cursor=cursor, limit=limit)
    return Page(items=[FormRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/forms", summary="Create a lead form", status_code=status.HTTP_201_CREATED)
async def create_form(body: FormCreate, scope: Manager, session: DbSession) -> FormRead:
    form = await forms.create_form(session, scope, data=body)
    await session.flush()
    return FormRead.model_validate(form)


@router.get("/forms/{form_id}", summary="One lead form")
async def get_form(form_id: uuid.UUID, scope: Manager, session: DbSession) -> FormRead:
    return FormRead.model_validate(await forms.get_form(session, scope, form_id=form_id))


@router.patch("/forms/{form_id}", summary="Change a lead form")
async def update_form(form_id: uuid.UUID, body: FormUpdate, scope: Manager, session: DbSession) -> FormRead:
    form = await forms.update_form(session, scope, form_id=form_id, data=body)
    await session.flush()
    return FormRead.model_validate(form)
