from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from leadflow.auth.dependencies import Manager
from leadflow.integrations.hubspot.settings import HubSpotSettings
from leadflow.integrations.pipedrive.client import PipedriveSettings
from leadflow.integrations.rdstation.client import RdStationSettings
from leadflow.integrations.salesforce.client import SalesforceSettings
from leadflow.integrations.schemas import ConnectionTestResult
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.sync import service
from leadflow.sync.schemas import CrmConnectionRead, ResyncQueued, ResyncRequest
from leadflow.sync.service import HUBSPOT, PIPEDRIVE, RDSTATION, SALESFORCE, SyncConfig

router = APIRouter(prefix="/v1/sync", route_class=UnitOfWorkRoute, tags=["crm sync"])


class CrmProvider(StrEnum):
    HUBSPOT = HUBSPOT
    PIPEDRIVE = PIPEDRIVE
    SALESFORCE = SALESFORCE
    RDSTATION = RDSTATION


def _config(request: Request) -> SyncConfig:
    return SyncConfig.from_settings(request.app.state.settings)


Config = Annotated[SyncConfig, Depends(_config)]


@router.put("/hubspot", summary="Connect HubSpot (or replace token and mapping); the token is not shown again")
async def connect_hubspot(
    body: HubSpotSettings, scope: Manager, session: DbSession, config: Config
) -> CrmConnectionRead:
    return CrmConnectionRead.model_validate(await service.connect_hubspot(session, scope, data=body, config=config))


@router.put("/pipedrive", summary="Connect Pipedrive (or replace token and mapping); the token is not shown again")
async def connect_pipedrive(
    body: PipedriveSettings, scope: Manager, session: DbSession, config: Config
) -> CrmConnectionRead:
    return CrmConnectionRead.model_validate(await service.connect_pipedrive(session, scope, data=body, config=config))


@router.put(
    "/salesforce", summary="Connect Salesforce (instance URL, token, object, External ID field, mapping); token hidden"
)
async def connect_salesforce(
    body: SalesforceSettings, scope: Manager, session: DbSession, config: Config
) -> CrmConnectionRead:
    return CrmConnectionRead.model_validate(await service.connect_salesforce(session, scope, data=body, config=config))


@router.put("/rdstation", summary="Connect RD Station CRM (or replace token and mapping); the token is not shown again")
async def connect_rdstation(
    body: RdStationSettings, scope: Manager, session: DbSession, config: Config
) -> CrmConnectionRead:
    return CrmConnectionRead.model_validate(await service.connect_rdstation(session, scope, data=body, config=config))


@router.get("/{provider}", summary="A CRM connection: settings, last success, last error, backlog (never the token)")
async def get_connection(provider: CrmProvider, scope: Manager, session: DbSession) -> CrmConnectionRead:
    shown = CrmConnectionRead.model_validate(await service.get_connection(session, scope, provider=provider.value))
    return shown.model_copy(update={"backlog": await service.backlog(session, scope)})


@router.delete("/{provider}", status_code=status.HTTP_204_NO_CONTENT)
async def disconnect(provider: CrmProvider, scope: Manager, session: DbSession) -> None:
    await service.disconnect(session, scope, provider=provider.value)


@router.post("/{provider}/test", summary="Check the token and the id field with the CRM (the answer is its health)")
async def test_connection(
    provider: CrmProvider, scope: Manager, session: DbSession, config: Config
) -> ConnectionTestResult:
    return await service.test_connection(session, scope, provider=provider.value, config=config, now=utcnow())


@router.post(
    "/{provider}/resync", status_code=status.HTTP_202_ACCEPTED, summary="Push people again (all with a lead by default)"
)
async def resync(provider: CrmProvider, body: ResyncRequest, scope: Manager, session: DbSession) -> ResyncQueued:
    await service.request_resync(session, scope, provider=provider.value, person_ids=body.person_ids, force=body.force)
    return ResyncQueued(provider=provider.value, person_ids=body.person_ids, force=body.force)
