from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from leadflow.auth.dependencies import Manager
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.webhook import service
from leadflow.webhook.events import SUBSCRIBABLE
from leadflow.webhook.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    EventTypes,
    SecretRotated,
)
from leadflow.webhook.service import WebhookConfig

router = APIRouter(prefix="/v1/webhooks", route_class=UnitOfWorkRoute, tags=["partner webhooks"])


def _config(request: Request) -> WebhookConfig:
    return WebhookConfig.from_settings(request.app.state.settings)


Config = Annotated[WebhookConfig, Depends(_config)]


@router.get("/event-types", summary="The event types an endpoint may subscribe to ('*' for all)")
async def event_types(scope: Manager) -> EventTypes:
    return EventTypes(event_types=list(SUBSCRIBABLE))


@router.get("", summary="The tenant's partner webhook endpoints")
async def list_endpoints(scope: Manager, session: DbSession) -> Page[EndpointRead]:
    endpoints = await service.list_endpoints(session, scope)
    return Page(items=[EndpointRead.model_validate(e) for e in endpoints])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an endpoint; its secret is shown only now")
async def create_endpoint(
    body: EndpointCreate, scope: Manager, session: DbSession, config: Config
) -> EndpointWithSecret:
    endpoint, secret = await service.create_endpoint(session, scope, data=body, config=config)
    return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)


@router.get("/{endpoint_id}")
async def get_endpoint(endpoint_id: uuid.UUID, scope: Manager, session: DbSession) -> EndpointRead:
    return EndpointRead.model_validate(await service.get_endpoint(session, scope, endpoint_id=endpoint_id))


@router.patch("/{endpoint_id}", summary="Change the URL, event types or description; enable or disable")
async def update_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, scope: Manager, session: DbSession, config: Config
) -> EndpointRead:
    endpoint = await service.update_endpoint(session, scope, endpoint_id=endpoint_id, data=body, config=config)
    return EndpointRead.model_validate(endpoint)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(endpoint_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_endpoint(session, scope, endpoint_id=endpoint_id)


@router.post("/{endpoint_id}/rotate-secret", summary="A new secret (shown once); the old one signs for 24 h more")
async def rotate_secret(endpoint_id: uuid.UUID, scope: Manager, session: DbSession, config: Config) -> SecretRotated:
    secret, expires = await service.rotate_secret(session, scope, endpoint_id=endpoint_id, config=config)
    return SecretRotated(secret=secret, previous_secret_expires_at=expires)


@router.get("/{endpoint_id}/deliveries", summary="What was sent to the endpoint, newest first")
async def list_deliveries(
    endpoint_id: uuid.UUID,
    scope: Manager,
    session: DbSession,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DeliveryRead]:
    deliveries, next_cursor = await service.list_deliveries(
        session, scope, endpoint_id=endpoint_id, cursor=cursor, limit=limit
    )
    return Page(items=[DeliveryRead.model_validate(d) for d in deliveries], next_cursor=next_cursor)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", summary="One delivery with its body and every attempt")
async def get_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, scope: Manager, session: DbSession
) -> DeliveryDetail:
    delivery, attempts = await service.get_delivery(session, scope, endpoint_id=endpoint_id, delivery_id=delivery_id)
    return DeliveryDetail(
        **DeliveryRead.model_validate(delivery).model_dump(),
        body=delivery.body,
        attempt_log=[AttemptRead.model_validate(a) for a in attempts],
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the delivery once more now (same webhook-id, fresh signature)",
)
async def redeliver(endpoint_id: uuid.UUID, delivery_id: uuid.UUID, scope: Manager, session: DbSession) -> DeliveryRead:
    delivery = await service.redeliver(session, scope, endpoint_id=endpoint_id, delivery_id=delivery_id)
    return DeliveryRead.model_validate(delivery)
