"""Saved views of the lead list: per user and tenant, a name and the list's filters as a query string.

A view holds only the filters the lead list understands (``LeadFilters``), checked when saved, so picking a
view later can never be refused. Another user's view is not found (404), as another tenant's is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import Forbidden, NotFound, ValidationFailed, wording
from leadflow.kit.scope import Scope
from leadflow.lead.schemas import LeadFilters
from leadflow.models import SavedView
from leadflow.savedview.repository import SavedViewRepository

FILTER_KEYS = tuple(LeadFilters.model_fields)
MAX_VIEWS = 50
MAX_NAME = 80


class SavedViewNotFound(NotFound):
    code = "saved-view-not-found"
    title = "Saved view not found"


def _owner(scope: Scope) -> uuid.UUID:
    """Views belong to a person: an API key or a job has none."""
    if scope.actor_type != "user" or scope.actor_id is None:
        raise Forbidden("saved views belong to a signed-in user")
    return scope.actor_id


def lead_filters_query(params: Mapping[str, str]) -> str:
    """The lead list's filters among ``params`` (blank ones dropped, others ignored) as a canonical query string;
    ValidationFailed names the filters the lead list would refuse."""
    sent = {key: value.strip() for key in FILTER_KEYS if (value := params.get(key, "")) and value.strip()}
    try:
        LeadFilters.model_validate(sent)
    except ValidationError as exc:
        fields = sorted({str(error["loc"][0]) for error in exc.errors()})
        raise ValidationFailed(
            f"invalid filter: {', '.join(fields)}", errors=[{"field": f, "message": "invalid"} for f in fields]
        ) from exc
    return urlencode(sent)


async def list_views(session: AsyncSession, scope: Scope) -> Sequence[SavedView]:
    """The user's own views, by name."""
    return await SavedViewRepository(session).of_user(_owner(scope))


async def save_view(session: AsyncSession, scope: Scope, *, name: str, query: str) -> SavedView:
    """Save the filters of ``query`` under ``name``; saving under a name the user already has replaces its filters."""
    owner = _owner(scope)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        message = f"give the view a name of 1 to {MAX_NAME} characters"
        raise ValidationFailed(message, errors=[{"field": "name", "message": message}])
    canonical = lead_filters_query(dict(parse_qsl(query)))
    repo = SavedViewRepository(session)
    view = await repo.named(owner, name)
    if view is not None:
        view.query = canonical
    else:
        if len(await repo.of_user(owner)) >= MAX_VIEWS:
            raise ValidationFailed(wording("at most %(count)s saved views; delete one first", count=MAX_VIEWS))
        view = repo.add(SavedView(user_id=owner, name=name, query=canonical))
    await session.flush()
    return view


async def delete_view(session: AsyncSession, scope: Scope, *, view_id: uuid.UUID) -> None:
    """Delete one of the user's own views; anyone else's is not found."""
    repo = SavedViewRepository(session)
    view = await repo.get(view_id)
    if view is None or view.user_id != _owner(scope):
        raise SavedViewNotFound(f"saved view {view_id} not found")
    await session.delete(view)
    await session.flush()
