from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field, field_validator

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import Role


class UserCreate(InputSchema):
    email: EmailStr = Field(examples=["paula@imobiliaria.com.br"])
    name: str = Field(min_length=1, max_length=200, examples=["Paula Corretora"])
    role: Role = Field(examples=["broker"])
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    phone: str | None = Field(default=None, max_length=20, examples=["+5511987654321"])
    team_ids: list[uuid.UUID] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class UserUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    phone: str | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class UserRead(OutputSchema):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    phone: str | None
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    deleted_at: datetime | None


class TeamCreate(InputSchema):
    name: str = Field(min_length=1, max_length=120, examples=["Vendas"])
    member_ids: list[uuid.UUID] = Field(default_factory=list)


class TeamUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=120)


class TeamRead(OutputSchema):
    id: uuid.UUID
    name: str
    member_ids: list[uuid.UUID]
    created_at: datetime
    deleted_at: datetime | None
