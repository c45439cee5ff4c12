from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


class Role(StrEnum):
    OWNER = "owner"  # dono(a) da imobiliária: everything
    MANAGER = "manager"  # gestor(a): their teams, users and settings
    BROKER = "broker"  # corretor(a): their own leads
    VIEWER = "viewer"  # read-only everywhere


class User(Base, TenantScoped, SoftDeletable):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)
    __audited__ = True
    __secret_fields__ = frozenset({"password_hash"})
    __audit_exclude__ = frozenset({"last_login_at"})

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class Team(Base, TenantScoped, SoftDeletable):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __audited__ = True

    name: Mapped[str] = mapped_column(String(120))
    # The roleta of the team: minutes a broker has to answer a new lead, and how many times a lead nobody answered
    # moves to the next broker before it goes to the team's manager.
    sla_minutes: Mapped[int] = mapped_column(default=15)
    max_reroutes: Mapped[int] = mapped_column(default=2)


class TeamMember(Base, TenantScoped):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("tenant_id", "team_id", "user_id"),)
    __audited__ = True

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # How the roleta treats this member: share of new leads, most leads awaiting first response at once,
    # presence (plantão) and shifts in the tenant's time zone ({"mon": [{"start": "08:00", "end": "18:00"}]}),
    # and the special groups they belong to ("alto-padrao", "zona-sul", a development's slug).
    weight: Mapped[int] = mapped_column(default=1)
    capacity: Mapped[int | None] = mapped_column(default=None)
    on_duty: Mapped[bool] = mapped_column(default=True)
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    routing_groups: Mapped[list[str]] = mapped_column(default=list)
