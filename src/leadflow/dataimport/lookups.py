"""Names in a spreadsheet resolved to rows of the tenant, once per run: users by e-mail."""

from __future__ import annotations

import uuid

from leadflow.dataimport.repository import UserLookup
from leadflow.dataimport.rows import Cell, ImportContext, RowErrors
from leadflow.models import User


async def user_by_email(ctx: ImportContext, cell: Cell | None, errors: RowErrors) -> uuid.UUID | None:
    """The active user of this tenant with the cell's e-mail; an error naming the column otherwise (a user of
    another tenant is not found, like one that does not exist)."""
    if cell is None:
        return None
    email = cell.value.strip().lower()
    user: User | None = await ctx.cached("user", email, lambda: UserLookup(ctx.session).by_email(email))
    if user is None:
        errors.add(cell.column, f"no user with the e-mail {email} in this account")
        return None
    if not user.is_active:
        errors.add(cell.column, f"the user {email} is inactive")
        return None
    return user.id
