"""Configurações: each section renders the tenant's settings, writes through the feature's own service, shows the
service's refusals in the form in pt-BR, refuses a form without CSRF, and is for owners and managers only; another
tenant's ids are not found."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from leadflow.kit.db import Database
from leadflow.models import (
    ApiKey,
    ApiKeyKind,
    CrmConnection,
    CustomFieldDefinition,
    LeadForm,
    Pipeline,
    Role,
    RuleSetVersion,
    Stage,
    StageTransition,
    Team,
    TeamMember,
    Tenant,
    User,
)
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio
SECTIONS = (
    "",
    "/funis",
    "/regras",
    "/equipes",
    "/usuarios",
    "/sites",
    "/webhooks",
    "/integracoes",
    "/campos",
    "/retencao",
)


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def team(db: Database, tenant: Tenant, broker: User) -> Team:
    return await factories.make_team(db, tenant, "Plantão Centro", [broker])


@pytest.fixture
async def rival(db: Database, other_tenant: Tenant) -> User:
    return await factories.make_user(db, other_tenant, role=Role.OWNER)


async def count(db: Database, tenant: Tenant, model: type[object]) -> int:
    async with db.session(factories.owner_scope(tenant)) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def field_error(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


class TestAccess:
    @pytest.mark.parametrize("path", SECTIONS)
    async def test_every_section_is_refused_to_a_broker(self, broker_console: Console, path: str) -> None:
        response = await broker_console.get(f"/app/configuracoes{path}")
        assert response.status_code == 403
        assert "Você não tem permissão para isso" in response.text

    async def test_a_viewer_is_refused_too(self, app: FastAPI, tenant: Tenant, viewer: User) -> None:
        async with logged_in_console(app, tenant, viewer) as console:
            assert (await console.get("/app/configuracoes/funis")).status_code == 403

    @pytest.mark.parametrize("path", SECTIONS)
    async def test_every_section_renders_for_a_manager(self, manager_console: Console, path: str) -> None:
        response = await manager_console.get(f"/app/configuracoes{path}")
        assert response.status_code == 200
        assert "Configurações" in response.text
        assert 'href="/app/configuracoes"' in response.text  # the main menu's link

    async def test_speaks_english_when_asked(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/funis")
        await manager_console.post("/app/lang", {"lang": "en", "next": "/app/configuracoes/funis"})
        html = (await manager_console.get("/app/configuracoes/funis")).text
        assert "<h1>Settings</h1>" in html
        assert "Pipelines and stages" in html

    async def test_the_menu_has_no_settings_link_for_a_broker(self, broker_console: Console) -> None:
        assert 'href="/app/configuracoes"' not in (await broker_console.get("/app")).text


class TestPipelines:
    async def test_lists_each_pipeline_with_its_stages_in_order(
        self, manager_console: Console, stages: list[Stage]
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/funis")).text
        positions = [html.index(f'id="stage-{stage.id}"') for stage in stages]
        assert positions == sorted(positions)
        assert 'value="Contato"' in html

    async def test_creating_a_pipeline_lists_it(self, manager_console: Console, db: Database, tenant: Tenant) -> None:
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post("/app/configuracoes/funis", {"name": "Lançamento Aurora"})
        assert response.status_code == 303
        html = (await manager_console.get(response.headers["location"])).text
        assert "Lançamento Aurora" in html
        assert 'id="saved"' in html

    async def test_a_taken_name_is_refused_in_the_form_in_portuguese(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post("/app/configuracoes/funis", {"name": "Venda"})
        assert response.status_code == 409
        assert "Já existe um registro com esse nome." in field_error(response.text)
        assert 'aria-invalid="true"' in response.text
        assert await count(db, tenant, Pipeline) == 1

    async def test_adding_renaming_and_moving_stages(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        pipeline_id = stages[0].pipeline_id
        await manager_console.get("/app/configuracoes/funis")
        added = await manager_console.post(
            f"/app/configuracoes/funis/{pipeline_id}/etapas", {"name": "Documentação", "kind": "open"}
        )
        assert added.status_code == 303
        renamed = await manager_console.post(f"/app/configuracoes/etapas/{stages[1].id}", {"name": "Primeiro contato"})
        assert renamed.status_code == 303
        moved = await manager_console.post(f"/app/configuracoes/etapas/{stages[2].id}/posicao", {"position": "0"})
        assert moved.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            rows = (await session.scalars(select(Stage).order_by(Stage.position))).all()
        names = [row.name for row in rows]
        assert names[:3] == ["Visita", "Novo", "Primeiro contato"]
        assert "Documentação" in names

    async def test_a_blank_stage_name_is_refused_in_portuguese(
        self, manager_console: Console, stages: list[Stage]
    ) -> None:
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post(f"/app/configuracoes/etapas/{stages[0].id}", {"name": "  "})
        assert response.status_code == 422
        assert "Muito curto: pelo menos 1 caracteres." in field_error(response.text)

    async def test_a_form_without_csrf_changes_nothing(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post("/app/configuracoes/funis", {"name": "Sem token"}, csrf="")
        assert response.status_code == 403
        assert await count(db, tenant, Pipeline) == 0

    async def test_another_tenants_pipeline_and_stage_are_not_found(
        self, app: FastAPI, other_tenant: Tenant, rival: User, stages: list[Stage]
    ) -> None:
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/configuracoes/funis")
            stage = await console.post(f"/app/configuracoes/etapas/{stages[0].id}", {"name": "Hackeado"})
            pipeline = await console.post(f"/app/configuracoes/funis/{stages[0].pipeline_id}", {"name": "Hackeado"})
        assert (stage.status_code, pipeline.status_code) == (404, 404)

    async def test_ticking_moves_saves_them_and_switches_enforcement_on(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        novo, contato, visita = stages[:3]
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post(
            f"/app/configuracoes/funis/{novo.pipeline_id}/transicoes",
            {"restrict": "on", "move": [f"{novo.id}:{contato.id}", f"{contato.id}:{visita.id}"]},
        )
        assert response.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            moves = {(t.from_stage_id, t.to_stage_id) for t in (await session.scalars(select(StageTransition))).all()}
            pipeline = await session.get_one(Pipeline, novo.pipeline_id)
        assert moves == {(novo.id, contato.id), (contato.id, visita.id)}
        assert pipeline.restrict_transitions is True
        html = (await manager_console.get(response.headers["location"])).text
        assert re.search(rf'value="{novo.id}:{contato.id}" checked', html)
        assert not re.search(rf'value="{novo.id}:{visita.id}" checked', html)

    async def test_a_move_to_another_pipelines_stage_is_refused_and_nothing_changes(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        _, elsewhere = await factories.make_pipeline(db, tenant, name="Locação")
        await manager_console.get("/app/configuracoes/funis")
        response = await manager_console.post(
            f"/app/configuracoes/funis/{stages[0].pipeline_id}/transicoes",
            {"restrict": "on", "move": [f"{stages[0].id}:{elsewhere[1].id}"]},
        )
        assert response.status_code == 422
        assert 'id="form-error"' in response.text
        assert await count(db, tenant, StageTransition) == 0

    async def test_a_stage_holding_leads_is_not_removed_and_an_empty_one_is(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        person = await factories.make_person(db, tenant, name="Joana Prudente")
        await factories.make_lead(db, tenant, person=person, stage=stages[0])
        await manager_console.get("/app/configuracoes/funis")
        held = await manager_console.post(f"/app/configuracoes/etapas/{stages[0].id}/remover")
        assert held.status_code == 409
        assert "Não é possível excluir a etapa Novo" in held.text
        emptied = await manager_console.post(f"/app/configuracoes/etapas/{stages[1].id}/remover")
        assert emptied.status_code == 303
        html = (await manager_console.get("/app/configuracoes/funis")).text
        assert f'id="stage-{stages[0].id}"' in html
        assert f'id="stage-{stages[1].id}"' not in html

    async def test_another_pipeline_becomes_the_default_and_the_old_one_can_be_removed(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage]
    ) -> None:
        other, _ = await factories.make_pipeline(db, tenant, name="Locação")
        async with db.session(factories.owner_scope(tenant)) as session:
            (await session.get_one(Pipeline, other.id)).is_default = False
            await session.commit()
        html = (await manager_console.get("/app/configuracoes/funis")).text
        assert f"/funis/{stages[0].pipeline_id}/remover" not in html  # the default offers no removal
        made = await manager_console.post(f"/app/configuracoes/funis/{other.id}/padrao")
        assert made.status_code == 303
        removed = await manager_console.post(f"/app/configuracoes/funis/{stages[0].pipeline_id}/remover")
        assert removed.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            left = (await session.scalars(select(Pipeline))).all()
        assert [(p.name, p.is_default) for p in left] == [("Locação", True)]


RULES = [
    {
        "id": "google-alto-padrao",
        "name": "Google acima de 1 milhão",
        "when": {
            "all": [
                {"field": "event.utm_source", "op": "eq", "value": "google"},
                {"field": "lead.price_max_cents", "op": "gte", "value": 100_000_000},
            ]
        },
        "actions": [{"route": {"group": "alto-padrao"}}, {"tag": "alto-padrao"}],
    },
    {
        "id": "portal",
        "name": "Portais",
        "when": {"field": "lead.source", "op": "eq", "value": "portal_zap"},
        "actions": [{"score": 5}],
    },
]


class TestRules:
    async def test_a_sample_lead_shows_the_matching_rule_and_the_route_without_saving(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/regras")
        response = await manager_console.post(
            "/app/configuracoes/regras/teste",
            {"rules": json.dumps(RULES), "utm_source": "google", "price_max": "1.500.000", "source": "site"},
        )
        assert response.status_code == 200
        outcome = response.text[response.text.index('id="rules-outcome"') :]
        assert re.search(r'id="outcome-route"><strong>alto-padrao</strong>', outcome)
        assert '<li class="row matched">' in outcome
        assert "não atende" in outcome  # the portal rule, with why
        assert "atendida" in outcome
        assert await count(db, tenant, RuleSetVersion) == 0

    async def test_invalid_rules_are_explained_in_portuguese(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/regras")
        broken = await manager_console.post("/app/configuracoes/regras/teste", {"rules": "[{"})
        assert broken.status_code == 422
        assert "JSON inválido." in broken.text
        no_actions = [{**RULES[1], "actions": []}]
        refused = await manager_console.post("/app/configuracoes/regras", {"rules": json.dumps(no_actions)})
        assert refused.status_code == 422
        assert "rules.0.actions" in refused.text

    async def test_saving_makes_a_new_active_version(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/regras")
        response = await manager_console.post(
            "/app/configuracoes/regras", {"rules": json.dumps(RULES), "note": "Lançamento"}
        )
        assert response.status_code == 303
        html = (await manager_console.get("/app/configuracoes/regras")).text
        assert "Versão 1" in html
        assert "Google acima de 1 milhão" in html
        assert await count(db, tenant, RuleSetVersion) == 1


class TestTeams:
    async def test_saving_the_roleta_changes_weight_capacity_and_duty(
        self, manager_console: Console, db: Database, tenant: Tenant, team: Team, broker: User
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/equipes")).text
        assert "Plantão Centro" in html
        response = await manager_console.post(
            f"/app/configuracoes/equipes/{team.id}/roleta",
            {
                "sla_minutes": "10",
                "max_reroutes": "1",
                "member": str(broker.id),
                f"weight-{broker.id}": "3",
                f"capacity-{broker.id}": "5",
            },
        )
        assert response.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            member = await session.scalar(select(TeamMember).where(TeamMember.user_id == broker.id))
            saved_team = await session.get_one(Team, team.id)
        assert member is not None
        assert (member.weight, member.capacity, member.on_duty) == (3, 5, False)
        assert saved_team.sla_minutes == 10

    async def test_a_weight_out_of_range_is_refused_in_portuguese(
        self, manager_console: Console, team: Team, broker: User
    ) -> None:
        await manager_console.get("/app/configuracoes/equipes")
        response = await manager_console.post(
            f"/app/configuracoes/equipes/{team.id}/roleta",
            {"sla_minutes": "10", "max_reroutes": "1", "member": str(broker.id), f"weight-{broker.id}": "0"},
        )
        assert response.status_code == 422
        assert "Deve ser pelo menos 1." in field_error(response.text)

    async def test_creating_a_team_and_adding_a_member(
        self, manager_console: Console, db: Database, tenant: Tenant, broker: User
    ) -> None:
        await manager_console.get("/app/configuracoes/equipes")
        assert (await manager_console.post("/app/configuracoes/equipes", {"name": "Alto padrão"})).status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            created = await session.scalar(select(Team).where(Team.name == "Alto padrão"))
        assert created is not None
        added = await manager_console.post(
            f"/app/configuracoes/equipes/{created.id}/membros", {"user_id": str(broker.id)}
        )
        assert added.status_code == 303
        html = (await manager_console.get("/app/configuracoes/equipes")).text
        assert f'name="weight-{broker.id}"' in html

    async def test_the_page_says_who_gets_the_next_leads_and_when_nobody_can(
        self, manager_console: Console, team: Team, broker: User
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/equipes")).text
        upcoming = re.search(rf'<ol class="next-leads" id="next-{team.id}"[^>]*>(.*?)</ol>', html, re.S)
        assert upcoming is not None
        assert upcoming.group(1).count(broker.name) == 5  # the only broker of the team, five times
        await manager_console.post(
            f"/app/configuracoes/equipes/{team.id}/roleta",
            {"sla_minutes": "10", "max_reroutes": "1", "member": str(broker.id), f"weight-{broker.id}": "1"},
        )  # the duty box left unticked: off duty
        html = (await manager_console.get("/app/configuracoes/equipes")).text
        assert "Ninguém disponível: o lead ficaria sem responsável" in html

    async def test_renaming_a_team_and_a_taken_name_refused_in_portuguese(
        self, manager_console: Console, db: Database, tenant: Tenant, team: Team
    ) -> None:
        await factories.make_team(db, tenant, "Locação", [])
        await manager_console.get("/app/configuracoes/equipes")
        taken = await manager_console.post(f"/app/configuracoes/equipes/{team.id}/nome", {"name": "Locação"})
        assert taken.status_code == 409
        assert "Locação" in taken.text
        assert 'id="form-error"' in taken.text
        renamed = await manager_console.post(f"/app/configuracoes/equipes/{team.id}/nome", {"name": "Plantão Sul"})
        assert renamed.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            assert (await session.get_one(Team, team.id)).name == "Plantão Sul"

    async def test_removing_a_team_takes_it_off_the_page(
        self, manager_console: Console, db: Database, tenant: Tenant, team: Team
    ) -> None:
        await manager_console.get("/app/configuracoes/equipes")
        removed = await manager_console.post(f"/app/configuracoes/equipes/{team.id}/remover")
        assert removed.status_code == 303
        assert "Plantão Centro" not in (await manager_console.get("/app/configuracoes/equipes")).text
        async with db.session(factories.owner_scope(tenant)) as session:
            assert await session.scalar(select(func.count()).select_from(Team)) == 0

    async def test_a_team_that_a_form_routes_to_is_not_removed(
        self, manager_console: Console, db: Database, tenant: Tenant, team: Team
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(LeadForm(key="contato", name="Fale conosco", team_id=team.id))
            await session.commit()
        await manager_console.get("/app/configuracoes/equipes")
        refused = await manager_console.post(f"/app/configuracoes/equipes/{team.id}/remover")
        assert refused.status_code == 409
        assert "ainda recebe os leads de 1 formulários ou canais" in refused.text
        assert await count(db, tenant, Team) == 1

    async def test_another_tenants_team_is_not_found(
        self, app: FastAPI, other_tenant: Tenant, rival: User, team: Team
    ) -> None:
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/configuracoes/equipes")
            response = await console.post(f"/app/configuracoes/equipes/{team.id}/roleta", {"sla_minutes": "5"})
        assert response.status_code == 404


class TestUsers:
    async def test_inviting_a_user_lists_them(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/usuarios")
        response = await manager_console.post(
            "/app/configuracoes/usuarios",
            {"name": "Paula Corretora", "email": "Paula@Acme.example.com", "role": "broker", "password": "x" * 12},
        )
        assert response.status_code == 303
        html = (await manager_console.get("/app/configuracoes/usuarios")).text
        assert "paula@acme.example.com" in html

    async def test_an_invalid_email_and_a_short_password_are_refused_in_portuguese(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/usuarios")
        response = await manager_console.post(
            "/app/configuracoes/usuarios", {"name": "Paula", "email": "paula", "role": "broker", "password": "curta"}
        )
        assert response.status_code == 422
        errors = field_error(response.text)
        assert "Não é um e-mail válido." in errors
        assert "Muito curto: pelo menos 10 caracteres." in errors
        assert 'value="paula"' in response.text  # what was typed is kept, the password is not
        assert 'value="curta"' not in response.text

    async def test_changing_a_role_and_deactivating(
        self, manager_console: Console, db: Database, tenant: Tenant, broker: User
    ) -> None:
        await manager_console.get("/app/configuracoes/usuarios")
        role = await manager_console.post(f"/app/configuracoes/usuarios/{broker.id}", {"role": "viewer"})
        active = await manager_console.post(f"/app/configuracoes/usuarios/{broker.id}", {"is_active": "false"})
        assert (role.status_code, active.status_code) == (303, 303)
        async with db.session(factories.owner_scope(tenant)) as session:
            changed = await session.get_one(User, broker.id)
        assert (changed.role, changed.is_active) == (Role.VIEWER, False)

    async def test_a_manager_may_not_make_an_owner(self, manager_console: Console, broker: User) -> None:
        await manager_console.get("/app/configuracoes/usuarios")
        response = await manager_console.post(f"/app/configuracoes/usuarios/{broker.id}", {"role": "owner"})
        assert response.status_code == 403
        assert "Só um(a) dono(a) pode conceder ou mudar o papel de dono(a)." in response.text

    async def test_another_tenants_user_is_not_found(
        self, app: FastAPI, other_tenant: Tenant, rival: User, broker: User
    ) -> None:
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/configuracoes/usuarios")
            response = await console.post(f"/app/configuracoes/usuarios/{broker.id}", {"is_active": "false"})
        assert response.status_code == 404


class TestSites:
    async def test_a_new_write_key_is_shown_once_inside_the_snippet(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/sites")).text
        assert "YOUR-WRITE-KEY" in html
        assert 'src="http://acme.localhost/t.js"' in html.replace("&#34;", '"').replace("&quot;", '"')
        response = await manager_console.post(
            "/app/configuracoes/sites", {"name": "Site institucional", "allowed_origins": "https://www.acme.com.br"}
        )
        assert response.status_code == 200
        key = re.search(r'id="new-key-value">(lf_wk_[^<]+)<', response.text)
        assert key is not None
        assert f"data-write-key=&#34;{key.group(1)}&#34;" in response.text or key.group(1) in response.text
        later = (await manager_console.get("/app/configuracoes/sites")).text
        assert key.group(1) not in later
        assert "https://www.acme.com.br" in later
        assert await count(db, tenant, ApiKey) == 1

    async def test_revoking_a_site_key(self, manager_console: Console, db: Database, tenant: Tenant) -> None:
        key, _ = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
        await manager_console.get("/app/configuracoes/sites")
        response = await manager_console.post(f"/app/configuracoes/sites/{key.id}/revogar")
        assert response.status_code == 303
        assert key.prefix not in (await manager_console.get("/app/configuracoes/sites")).text


class TestWebhooks:
    async def test_an_endpoint_gets_a_secret_shown_once_and_can_be_disabled(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/webhooks")
        response = await manager_console.post(
            "/app/configuracoes/webhooks", {"url": "https://93.184.216.34/hooks", "event_types": "lead.created"}
        )
        assert response.status_code == 200
        secret = re.search(r'id="secret-value">(whsec_[^<]+)<', response.text)
        assert secret is not None
        page = (await manager_console.get("/app/configuracoes/webhooks")).text
        assert secret.group(1) not in page
        endpoint_id = re.search(r'action="/app/configuracoes/webhooks/([0-9a-f-]{36})/segredo"', page)
        assert endpoint_id is not None
        disabled = await manager_console.post(
            f"/app/configuracoes/webhooks/{endpoint_id.group(1)}", {"enabled": "false"}
        )
        assert disabled.status_code == 303
        assert "desativado" in (await manager_console.get("/app/configuracoes/webhooks")).text

    async def test_an_endpoint_without_events_is_refused_in_portuguese(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/webhooks")
        response = await manager_console.post("/app/configuracoes/webhooks", {"url": "https://93.184.216.34/hooks"})
        assert response.status_code == 422
        assert "Escolha pelo menos 1." in field_error(response.text)

    async def test_another_tenants_endpoint_is_not_found(
        self, app: FastAPI, manager_console: Console, other_tenant: Tenant, rival: User
    ) -> None:
        await manager_console.get("/app/configuracoes/webhooks")
        created = await manager_console.post(
            "/app/configuracoes/webhooks", {"url": "https://93.184.216.34/hooks", "event_types": "*"}
        )
        endpoint_id = re.search(r'action="/app/configuracoes/webhooks/([0-9a-f-]{36})/segredo"', created.text)
        assert endpoint_id is not None
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/configuracoes/webhooks")
            response = await console.post(f"/app/configuracoes/webhooks/{endpoint_id.group(1)}/segredo")
        assert response.status_code == 404


class TestCustomFields:
    async def test_a_choice_field_is_added_with_its_options_and_removed(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/campos")
        response = await manager_console.post(
            "/app/configuracoes/campos",
            {
                "entity": "lead",
                "key": "forma_pagamento",
                "label": "Forma de pagamento",
                "type": "select",
                "options": "À vista\nFinanciamento",
            },
        )
        assert response.status_code == 303
        html = (await manager_console.get("/app/configuracoes/campos")).text
        assert "Forma de pagamento" in html
        assert "À vista, Financiamento" in html
        field_id = re.search(r'action="/app/configuracoes/campos/([0-9a-f-]{36})/remover"', html)
        assert field_id is not None
        removed = await manager_console.post(f"/app/configuracoes/campos/{field_id.group(1)}/remover")
        assert removed.status_code == 303
        assert "Forma de pagamento" not in (await manager_console.get("/app/configuracoes/campos")).text

    async def test_editing_a_field_changes_its_label_options_and_requirement_not_its_key(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/campos")
        sent = {
            "entity": "lead",
            "key": "forma_pagamento",
            "label": "Pagamento",
            "type": "select",
            "options": "À vista",
        }
        assert (await manager_console.post("/app/configuracoes/campos", sent)).status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            field = await session.scalar(select(CustomFieldDefinition))
        assert field is not None
        await manager_console.get("/app/configuracoes/campos")
        edited = await manager_console.post(
            f"/app/configuracoes/campos/{field.id}",
            {"label": "Forma de pagamento", "options": "À vista\nFinanciamento\nConsórcio", "required": "on"},
        )
        assert edited.status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            field = await session.get_one(CustomFieldDefinition, field.id)
        assert (field.key, field.label, field.options, field.required) == (
            "forma_pagamento", "Forma de pagamento", ["À vista", "Financiamento", "Consórcio"], True,
        )  # fmt: skip

    async def test_a_choice_edited_without_options_is_refused_in_portuguese(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/campos")
        sent = {"entity": "lead", "key": "origem", "label": "Origem", "type": "select", "options": "Indicação"}
        assert (await manager_console.post("/app/configuracoes/campos", sent)).status_code == 303
        async with db.session(factories.owner_scope(tenant)) as session:
            field = await session.scalar(select(CustomFieldDefinition))
        assert field is not None
        refused = await manager_console.post(
            f"/app/configuracoes/campos/{field.id}", {"label": "Origem", "options": ""}
        )
        assert refused.status_code == 422
        assert f'id="field-{field.id}-options-error"' in refused.text
        async with db.session(factories.owner_scope(tenant)) as session:
            assert (await session.get_one(CustomFieldDefinition, field.id)).options == ["Indicação"]

    async def test_a_choice_without_options_and_a_bad_key_are_refused_in_portuguese(
        self, manager_console: Console
    ) -> None:
        await manager_console.get("/app/configuracoes/campos")
        no_options = await manager_console.post(
            "/app/configuracoes/campos", {"entity": "lead", "key": "origem", "label": "Origem", "type": "select"}
        )
        assert no_options.status_code == 422
        assert "Um campo de escolha precisa de opções." in no_options.text  # the service's reason, translated
        assert field_error(no_options.text) == ["obrigatório"]
        bad_key = await manager_console.post(
            "/app/configuracoes/campos", {"entity": "lead", "key": "Origem X", "label": "Origem", "type": "text"}
        )
        assert bad_key.status_code == 422
        assert "Formato inválido." in field_error(bad_key.text)


class TestIntegrations:
    async def test_connecting_a_provider_keeps_its_secret_out_of_the_page(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        form = (await manager_console.get("/app/configuracoes/integracoes?provider=zap")).text
        assert 'name="setting-password" type="password"' in form
        response = await manager_console.post(
            "/app/configuracoes/integracoes",
            {
                "provider": "zap",
                "key": "zap-loja",
                "name": "Portais",
                "setting-username": "acme",
                "setting-password": "s3gredo-do-portal",
            },
        )
        assert response.status_code == 303
        html = (await manager_console.get("/app/configuracoes/integracoes")).text
        assert "/hooks/zap/zap-loja" in html
        assert "s3gredo-do-portal" not in html

    async def test_missing_settings_are_refused_in_portuguese_without_echoing_secrets(
        self, manager_console: Console
    ) -> None:
        await manager_console.get("/app/configuracoes/integracoes?provider=zap")
        response = await manager_console.post(
            "/app/configuracoes/integracoes",
            {"provider": "zap", "key": "zap-loja", "name": "Portais", "setting-password": "s3gredo-do-portal"},
        )
        assert response.status_code == 422
        assert "<code>settings.username</code>: Obrigatório." in response.text
        assert "s3gredo-do-portal" not in response.text

    async def test_another_tenants_connection_is_not_found(
        self, app: FastAPI, manager_console: Console, other_tenant: Tenant, rival: User
    ) -> None:
        await manager_console.get("/app/configuracoes/integracoes")
        await manager_console.post(
            "/app/configuracoes/integracoes",
            {
                "provider": "zap",
                "key": "zap-loja",
                "name": "Portais",
                "setting-username": "acme",
                "setting-password": "s3gredo-do-portal",
            },
        )
        html = (await manager_console.get("/app/configuracoes/integracoes")).text
        connection_id = re.search(r'action="/app/configuracoes/integracoes/([0-9a-f-]{36})/desconectar"', html)
        assert connection_id is not None
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/configuracoes/integracoes")
            response = await console.post(f"/app/configuracoes/integracoes/{connection_id.group(1)}/desconectar")
        assert response.status_code == 404


HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


class TestCrms:
    async def test_connecting_hubspot_seals_the_token_and_keeps_the_mapping(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/integracoes")).text
        assert all(name in html for name in ("HubSpot", "Pipedrive", "Salesforce", "RD Station CRM"))
        mapping = {"first_name": "firstname", "email": "email", "channel": "canal_leadflow"}
        response = await manager_console.post(
            "/app/configuracoes/integracoes/crm/hubspot",
            {"setting-access_token": HUBSPOT_TOKEN, "setting-field_mapping": json.dumps(mapping)},
        )
        assert response.status_code == 303, response.text
        page = (await manager_console.get("/app/configuracoes/integracoes")).text
        assert HUBSPOT_TOKEN not in page
        assert "canal_leadflow" in page
        async with db.session(factories.owner_scope(tenant)) as session:
            [row] = (await session.scalars(select(CrmConnection))).all()
        assert (row.provider, row.settings["field_mapping"]) == ("hubspot", mapping)
        assert HUBSPOT_TOKEN.encode() not in row.credentials

    async def test_an_unknown_mapping_field_is_refused_without_echoing_the_token(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/integracoes")
        response = await manager_console.post(
            "/app/configuracoes/integracoes/crm/hubspot",
            {"setting-access_token": HUBSPOT_TOKEN, "setting-field_mapping": '{"shoe_size": "tamanho"}'},
        )
        assert response.status_code == 422
        assert "field_mapping.shoe_size" in response.text
        assert HUBSPOT_TOKEN not in response.text
        assert await count(db, tenant, CrmConnection) == 0

    async def test_a_missing_token_is_refused_in_portuguese(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/integracoes")
        response = await manager_console.post("/app/configuracoes/integracoes/crm/pipedrive", {})
        assert response.status_code == 422
        assert "Obrigatório." in response.text

    async def test_disconnecting_forgets_the_connection(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await manager_console.get("/app/configuracoes/integracoes")
        await manager_console.post(
            "/app/configuracoes/integracoes/crm/hubspot", {"setting-access_token": HUBSPOT_TOKEN}
        )
        gone = await manager_console.post("/app/configuracoes/integracoes/crm/hubspot/desconectar")
        assert gone.status_code == 303
        assert await count(db, tenant, CrmConnection) == 0

    async def test_an_unknown_crm_is_not_found(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/integracoes")
        assert (await manager_console.post("/app/configuracoes/integracoes/crm/zoho", {})).status_code == 404


class TestRetention:
    async def test_an_override_applies_and_a_blank_goes_back_to_the_default(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        html = (await manager_console.get("/app/configuracoes/retencao")).text
        assert "Em vigor: 30 dias (padrão 30)" in html
        response = await manager_console.post("/app/configuracoes/retencao", {"operational_days": "90"})
        assert response.status_code == 303
        assert "Em vigor: 90 dias (padrão 30)" in (await manager_console.get("/app/configuracoes/retencao")).text
        await manager_console.post("/app/configuracoes/retencao", {"operational_days": ""})
        assert "Em vigor: 30 dias (padrão 30)" in (await manager_console.get("/app/configuracoes/retencao")).text

    async def test_an_access_log_shorter_than_the_law_asks_is_refused_in_portuguese(
        self, manager_console: Console
    ) -> None:
        await manager_console.get("/app/configuracoes/retencao")
        response = await manager_console.post("/app/configuracoes/retencao", {"access_log_days": "30"})
        assert response.status_code == 422
        assert "Deve ser pelo menos 183." in field_error(response.text)
