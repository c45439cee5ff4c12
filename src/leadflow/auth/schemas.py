from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import ApiKeyKind, Role


class LoginRequest(InputSchema):
    email: EmailStr = Field(examples=["gestor@demo.example.com"])
    password: str = Field(min_length=1, max_length=1024, examples=["leadflow-demo"])


class RefreshRequest(InputSchema):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(InputSchema):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPair(OutputSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class PasswordChange(InputSchema):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class MeUser(OutputSchema):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    phone: str | None


class MeTenant(OutputSchema):
    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    locale: str


class MeKey(OutputSchema):
    id: uuid.UUID
    name: str
    kind: ApiKeyKind
    scopes: list[str]


class MeRead(OutputSchema):
    user: MeUser | None
    api_key: MeKey | None = None
    tenant: MeTenant
    team_ids: list[uuid.UUID] = []


class ApiKeyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=120, examples=["Integração site"])
    kind: ApiKeyKind = ApiKeyKind.SECRET
    scopes: list[str] = Field(default_factory=list, examples=[["read"]])
    allowed_origins: list[str] = Field(default_factory=list, examples=[["https://www.imobiliaria.com.br"]])
    expires_at: datetime | None = None


class ApiKeyRead(OutputSchema):
    id: uuid.UUID
    name: str
    kind: ApiKeyKind
    prefix: str
    scopes: list[str]
    allowed_origins: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself; shown only in this response.")
