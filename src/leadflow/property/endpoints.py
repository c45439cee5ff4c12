from __future__ import annotations

from fastapi import APIRouter

from leadflow.kit.web import UnitOfWorkRoute

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
