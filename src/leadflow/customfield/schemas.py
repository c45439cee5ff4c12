from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import CustomFieldType

Entity = Literal["lead", "person", "property"]


class CustomFieldCreate(InputSchema):
    entity: Entity = Field(examples=["lead"])
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$", examples=["forma_pagamento"])
    label: str = Field(min_length=1, max_length=120, examples=["Forma de pagamento"])
    type: CustomFieldType = Field(examples=["select"])
    options: list[str] = Field(default_factory=list, examples=[["À vista", "Financiamento", "Consórcio"]])
    required: bool = False


class CustomFieldUpdate(InputSchema):
    label: str | None = Field(default=None, min_length=1, max_length=120)
    options: list[str] | None = None
    required: bool | None = None


class CustomFieldRead(OutputSchema):
    id: uuid.UUID
    entity: str
    key: str
    label: str
    type: CustomFieldType
    options: list[str]
    required: bool
