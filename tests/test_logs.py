"""Nothing logged carries a password, token, key, secret or personal datum (CPF, phone, e-mail) in clear."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.logging import REDACTED, configure_logging, redact_secrets
from leadflow.models import Tenant, User
from tests import factories
from tests.capture.factories import site
from tests.console.conftest import logged_in_console
from tests.integrations.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    connect,
    deliver,
    drain_now,
    graph,
    handlers_use_test_settings,
    text_message,
    whatsapp_settings,
)
from tests.pipeline.conftest import SalesTeam, as_sales_manager, clock, sales, worker

__all__ = ["as_sales_manager", "clock", "graph", "handlers_use_test_settings", "sales", "worker"]

CPF = "529.982.247-25"
PHONE = "(11) 98765-4321"
WHATSAPP_PHONE = "5511976543210"
EMAIL = "maria.silva@gmail.com"
FORM_EMAIL = "joao.pereira@hotmail.com"
FORM_PHONE = "(21) 99876-5432"
TRAIT_EMAIL = "ana.souza@yahoo.com.br"
WRONG_PASSWORD = "not-the-password-123"


def _variants(*values: str) -> list[str]:
    """Each literal as typed and as digits only (a CPF or phone may be logged normalised)."""
    found = set(values)
    for value in values:
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 8 and "@" not in value:
            found |= {digits, digits[-9:]}  # +55 11 9…: the national number without country and area codes too
    return sorted(found)


class TestLogsHoldNoSecrets:
    async def test_a_login_session_logs_no_credential(
        self, app: FastAPI, tenant: Tenant, manager: User, capsys: pytest.CaptureFixture[str]
    ) -> None:
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant, token=tokens["access_token"]) as c:
            await c.get("/v1/me")
            created = (await c.post("/v1/api-keys", json={"name": "k", "scopes": ["read"]})).json()
            await c.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        logged = capsys.readouterr().err
        assert "request" in logged
        for secret in (factories.PASSWORD, tokens["access_token"], tokens["refresh_token"], created["key"]):
            assert secret not in logged

    def test_the_redactor_masks_sensitive_keys_at_any_depth(self) -> None:
        event = {"event": "x", "password": "p", "nested": {"api_key": "k", "ok": 1}, "Authorization": "Bearer t"}
        out = redact_secrets(None, "info", event)
        assert out["password"] == REDACTED
        assert out["nested"] == {"api_key": REDACTED, "ok": 1}
        assert out["Authorization"] == REDACTED

    def test_pydantic_inputs_in_a_list_of_errors_are_masked(self) -> None:
        errors = [{"loc": ["email"], "msg": "too long", "input": "x" * 400 + EMAIL}]
        out = redact_secrets(None, "info", {"event": "console form refused", "errors": errors})
        assert out["errors"] == [{"loc": ["email"], "msg": "too long", "input": REDACTED}]

    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            (f"no lead for {EMAIL}", "no lead for [email]"),
            (f"cpf {CPF} refused", "cpf [cpf] refused"),
            ("cnpj 11.222.333/0001-81 refused", "cnpj [cnpj] refused"),
            (f"call {PHONE} now", "call [phone] now"),
            ("wa_id +55 11 98765-4321", "wa_id [phone]"),
            ("from 5511987654321 and 52998224725", "from [number] and [number]"),
        ],
    )
    def test_personal_data_is_masked_by_its_shape_in_any_text(self, text: str, masked: str) -> None:
        out = redact_secrets(None, "info", {"event": text, "detail": text})
        assert out == {"event": masked, "detail": masked}

    @pytest.mark.parametrize(
        "kept",
        [
            "01a2099f-0e63-74e9-b172-209071234567",  # a UUID whose last group is all digits
            "2026-11-23T18:19:41.578016Z",
            "dd3f00a6573f466a8afa44900b4729b0",
            "/v1/people/01a2099f-0e63-74e9-b172-209071234567",
            "took 1234.5678 ms",
        ],
    )
    def test_ids_times_and_routes_are_kept(self, kept: str) -> None:
        assert redact_secrets(None, "info", {"event": kept, "path": kept}) == {"event": kept, "path": kept}

    async def test_a_database_error_logged_with_its_traceback_shows_no_parameter(
        self, db: Database, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(fmt="json")
        async with db.sessionmaker() as session:
            await session.execute(text("CREATE TEMPORARY TABLE contacts (email VARCHAR(320) UNIQUE)"))
            insert = text("INSERT INTO contacts (email) VALUES (:email)")
            await session.execute(insert, {"email": EMAIL})
            with pytest.raises(IntegrityError) as refused:
                await session.execute(insert, {"email": EMAIL})
            await session.rollback()
        assert EMAIL not in str(refused.value)  # the engine hides the statement's parameters
        try:
            raise RuntimeError(f"while saving {EMAIL}") from refused.value
        except RuntimeError:
            structlog.get_logger("leadflow.test").exception("unhandled error")
        logged = capsys.readouterr().err
        assert "unhandled error" in logged
        assert "RuntimeError" in logged
        assert EMAIL not in logged

    async def test_the_audit_log_masks_password_hashes(self, as_manager: httpx.AsyncClient, broker: User) -> None:
        await as_manager.patch(f"/v1/users/{broker.id}", json={"password": "uma-senha-nova-123"})
        entries = (await as_manager.get("/v1/audit", params={"entity_id": str(broker.id)})).json()["items"]
        assert entries[0]["changes"]["password_hash"] == ["***", "***"]


class TestLogScan:
    """A representative day of one tenant, with every log line of the API and of the worker captured."""

    async def test_a_days_flow_logs_no_personal_data_and_no_secret(
        self,
        app: FastAPI,
        db: Database,
        tenant: Tenant,
        sales: SalesTeam,
        worker: Dispatcher,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.WARNING)
        secrets = await self._run_the_flow(app, db, tenant, sales)
        await drain_now(worker)  # the pipeline's handlers log too: stitching, routing, outputs
        logged = capsys.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)

        assert '"event": "request"' in logged  # the access log was captured
        literals = _variants(CPF, PHONE, WHATSAPP_PHONE, EMAIL, FORM_EMAIL, FORM_PHONE, TRAIT_EMAIL)
        literals += [factories.PASSWORD, WRONG_PASSWORD, APP_SECRET, VERIFY_TOKEN, *secrets]
        leaked = [literal for literal in literals if literal in logged]
        assert leaked == [], f"the logs hold {leaked}"

    async def _run_the_flow(self, app: FastAPI, db: Database, tenant: Tenant, sales: SalesTeam) -> list[str]:
        manager = sales.manager
        async with factories.client(app, tenant) as anonymous:
            wrong = await anonymous.post("/v1/auth/login", json={"email": manager.email, "password": WRONG_PASSWORD})
            assert wrong.status_code == 401
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant, token=tokens["access_token"]) as staff:
            person = {"name": "Maria Silva", "phones": [PHONE], "emails": [EMAIL], "cpf_cnpj": CPF}
            assert (await staff.post("/v1/leads", json={"person": person})).status_code == 201
            assert (await staff.get("/v1/people", params={"q": EMAIL})).status_code == 200
            api_key = (await staff.post("/v1/api-keys", json={"name": "erp", "scopes": ["read"]})).json()["key"]
            write_key = (await staff.post("/v1/api-keys", json={"name": "site", "kind": "write"})).json()["key"]
            hook = await staff.post(
                "/v1/webhooks",
                json={"url": "http://127.0.0.1:9/hooks/leadflow", "event_types": ["lead.created"]},
            )
            assert hook.status_code == 201, hook.text
            await connect(staff, "whatsapp", "acme-whatsapp", whatsapp_settings(), team_id=str(sales.team.id))
            refreshed = await staff.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            assert refreshed.status_code == 200
        async with factories.client(app, tenant, token=api_key) as erp:
            assert (await erp.get("/v1/people")).status_code == 200
        async with factories.client(app, tenant) as visitor:
            form = {"name": "João Pereira", "email": FORM_EMAIL, "phone": FORM_PHONE}
            assert (await visitor.post("/v1/forms/contato", json=form)).status_code == 202
            delivery = await deliver(visitor, text_message(wa_id=WHATSAPP_PHONE, text="Oi, quero visitar"))
            assert delivery.status_code == 200, delivery.text
        async with logged_in_console(app, tenant, manager) as console:  # a filter typed into the wrong box
            assert (await console.get("/app/leads", params={"status": EMAIL})).status_code == 422
        async with site(app, tenant, write_key) as browser:
            identify = {"type": "identify", "anonymousId": "trk_1", "traits": {"email": TRAIT_EMAIL, "phone": PHONE}}
            assert (await browser.post("/v1/batch", json={"batch": [identify]})).status_code == 200
        new_tokens = refreshed.json()
        return [
            tokens["access_token"],
            tokens["refresh_token"],
            new_tokens["access_token"],
            new_tokens["refresh_token"],
            api_key,
            write_key,
            hook.json()["secret"],
        ]
