"""A browser-like client of the console: it logs in through the form and sends the CSRF token as a browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest_asyncio
from fastapi import FastAPI

from leadflow.models import Tenant, User
from tests import factories

CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


@dataclass
class Console:
    """An httpx client that keeps cookies, plus the CSRF token of the last page it read."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.http.get(path, **kwargs)  # type: ignore[arg-type]
        if match := CSRF.search(response.text):
            self.csrf = match.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, str | list[str]] | None = None, *, csrf: str | None = None
    ) -> httpx.Response:
        form = {"csrf_token": self.csrf if csrf is None else csrf, **(data or {})}
        if not form["csrf_token"]:
            del form["csrf_token"]
        return await self.http.post(path, data=form)

    def replace_cookie(self, name: str, value: str | None) -> None:
        """Change (or drop, with None) a cookie the server set, keeping the domain it was stored under."""
        domain = next(c.domain for c in self.http.cookies.jar if c.name == name)
        self.http.cookies.delete(name, domain=domain)
        if value is not None:
            self.http.cookies.set(name, value, domain=domain)

    async def log_in(self, email: str, password: str = factories.PASSWORD) -> httpx.Response:
        await self.get("/app/login")
        return await self.post("/app/login", {"email": email, "password": password, "next": "/app"})


@asynccontextmanager
async def console_client(app: FastAPI, tenant: Tenant) -> AsyncIterator[Console]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{factories.host_of(tenant)}") as http:
        yield Console(http)


@asynccontextmanager
async def logged_in_console(app: FastAPI, tenant: Tenant, user: User) -> AsyncIterator[Console]:
    async with console_client(app, tenant) as console:
        response = await console.log_in(user.email)
        assert response.status_code == 303, response.text
        await console.get("/app")
        yield console


@pytest_asyncio.fixture
async def visitor(app: FastAPI, tenant: Tenant) -> AsyncIterator[Console]:
    async with console_client(app, tenant) as console:
        yield console


@pytest_asyncio.fixture
async def broker_console(app: FastAPI, tenant: Tenant, broker: User) -> AsyncIterator[Console]:
    async with logged_in_console(app, tenant, broker) as console:
        yield console


@pytest_asyncio.fixture
async def manager_console(app: FastAPI, tenant: Tenant, manager: User) -> AsyncIterator[Console]:
    async with logged_in_console(app, tenant, manager) as console:
        yield console
