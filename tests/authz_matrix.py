"""Who may call what: every route of the app, every kind of caller, the answer it must get.

Enforced by tests/test_authz_matrix.py against the real app: a route the app has and this file does not declare
fails the suite, so a new route cannot ship without someone deciding who may call it (OWASP API5 BFLA, API9).

The answer is a class, decided by the authorisation layer before any business rule:
- ``ALLOW``: the caller gets past authentication and authorisation (the request then succeeds or fails on its
  own merits: 2xx, 404 for an unknown id, 409, 422…);
- ``DENY``: 403, a known caller without the role or key scope;
- ``AUTH``: 401, no (valid) credential.
Finer rules inside services (a broker sees only their own leads, may not reassign…) have their own tests.

Callers: users of the four roles with a token of the request's tenant; no credential; the tenant's public
write key; a secret key with the ``read`` and ``write`` scopes (not ``admin``).
"""

from __future__ import annotations

from typing import Literal

Expect = Literal["allow", "deny", "auth"]
ALLOW: Expect = "allow"
DENY: Expect = "deny"
AUTH: Expect = "auth"

CALLERS = ("owner", "manager", "broker", "viewer", "anonymous", "write_key", "secret_key")


def row(
    *,
    owner: Expect,
    manager: Expect,
    broker: Expect,
    viewer: Expect,
    anonymous: Expect,
    write_key: Expect,
    secret_key: Expect,
) -> dict[str, Expect]:
    return {
        "owner": owner,
        "manager": manager,
        "broker": broker,
        "viewer": viewer,
        "anonymous": anonymous,
        "write_key": write_key,
        "secret_key": secret_key,
    }


# Anyone, on any tenant host: health, metrics, the API description, the tracking script, login and refresh (the
# body is the credential), CORS preflights, and lead forms (a form key in the path is the site's form).
PUBLIC = row(owner=ALLOW, manager=ALLOW, broker=ALLOW, viewer=ALLOW, anonymous=ALLOW, write_key=ALLOW, secret_key=ALLOW)
# Event ingestion: only the site's public write key; a user's token or a secret key is refused.
WRITE_KEY_ONLY = row(
    owner=DENY, manager=DENY, broker=DENY, viewer=DENY, anonymous=AUTH, write_key=ALLOW, secret_key=DENY
)
# Reading CRM data: every role and a secret key with ``read``; never the write key.
MEMBERS_READ = row(
    owner=ALLOW, manager=ALLOW, broker=ALLOW, viewer=ALLOW, anonymous=AUTH, write_key=DENY, secret_key=ALLOW
)
# About the signed-in user themselves (my day): users only, no key.
USERS_ONLY = row(
    owner=ALLOW, manager=ALLOW, broker=ALLOW, viewer=ALLOW, anonymous=AUTH, write_key=DENY, secret_key=DENY
)
# Changing CRM data: every role but the viewer, and a secret key with ``write``.
MEMBERS_WRITE = row(
    owner=ALLOW, manager=ALLOW, broker=ALLOW, viewer=DENY, anonymous=AUTH, write_key=DENY, secret_key=ALLOW
)
# Administration, configuration, operations, deletes and restores, the raw event log and the audit: owners and
# managers (and a secret key with ``admin``, which the matrix's key does not have).
MANAGERS = row(owner=ALLOW, manager=ALLOW, broker=DENY, viewer=DENY, anonymous=AUTH, write_key=DENY, secret_key=DENY)

# The console (cookie + CSRF, tested in tests/console): see the rows' comments below.
CONSOLE_PAGE = PUBLIC
CONSOLE_FORM = row(owner=DENY, manager=DENY, broker=DENY, viewer=DENY, anonymous=DENY, write_key=DENY, secret_key=DENY)

MATRIX: dict[tuple[str, str], dict[str, Expect]] = {
    # PUBLIC
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/t.js"): PUBLIC,
    ("GET", "/t/{version}.js"): PUBLIC,
    ("OPTIONS", "/v1/alias"): PUBLIC,
    ("POST", "/v1/auth/login"): PUBLIC,
    ("POST", "/v1/auth/logout"): PUBLIC,
    ("POST", "/v1/auth/refresh"): PUBLIC,
    ("OPTIONS", "/v1/batch"): PUBLIC,
    ("OPTIONS", "/v1/forms/{form_key}"): PUBLIC,
    ("POST", "/v1/forms/{form_key}"): PUBLIC,
    ("OPTIONS", "/v1/group"): PUBLIC,
    ("OPTIONS", "/v1/identify"): PUBLIC,
    ("OPTIONS", "/v1/page"): PUBLIC,
    ("OPTIONS", "/v1/screen"): PUBLIC,
    ("OPTIONS", "/v1/track"): PUBLIC,
    # WRITE_KEY_ONLY
    ("POST", "/v1/alias"): WRITE_KEY_ONLY,
    ("POST", "/v1/batch"): WRITE_KEY_ONLY,
    ("POST", "/v1/group"): WRITE_KEY_ONLY,
    ("POST", "/v1/identify"): WRITE_KEY_ONLY,
    ("POST", "/v1/page"): WRITE_KEY_ONLY,
    ("POST", "/v1/screen"): WRITE_KEY_ONLY,
    ("POST", "/v1/track"): WRITE_KEY_ONLY,
    # MEMBERS_READ
    ("GET", "/v1/attachments"): MEMBERS_READ,
    ("GET", "/v1/attachments/{attachment_id}"): MEMBERS_READ,
    ("GET", "/v1/attachments/{attachment_id}/download"): MEMBERS_READ,
    ("GET", "/v1/custom-fields"): MEMBERS_READ,
    ("GET", "/v1/developments"): MEMBERS_READ,
    ("GET", "/v1/developments/{development_id}"): MEMBERS_READ,
    ("GET", "/v1/developments/{development_id}/units"): MEMBERS_READ,
    ("GET", "/v1/exports/leads.csv"): MEMBERS_READ,
    ("GET", "/v1/exports/people.csv"): MEMBERS_READ,
    ("GET", "/v1/exports/properties.csv"): MEMBERS_READ,
    ("GET", "/v1/interactions"): MEMBERS_READ,
    ("GET", "/v1/interactions/{interaction_id}"): MEMBERS_READ,
    ("GET", "/v1/leads"): MEMBERS_READ,
    ("GET", "/v1/leads/{lead_id}"): MEMBERS_READ,
    ("GET", "/v1/leads/{lead_id}/history"): MEMBERS_READ,
    ("GET", "/v1/leads/{lead_id}/matches"): MEMBERS_READ,
    ("GET", "/v1/leads/{lead_id}/routing"): MEMBERS_READ,
    ("GET", "/v1/leads/{lead_id}/timeline"): MEMBERS_READ,
    ("GET", "/v1/loss-reasons"): MEMBERS_READ,
    ("GET", "/v1/me"): MEMBERS_READ,
    ("POST", "/v1/me/password"): MEMBERS_READ,
    ("GET", "/v1/people"): MEMBERS_READ,
    ("GET", "/v1/people/merges/{merge_id}"): MEMBERS_READ,
    ("GET", "/v1/people/{person_id}"): MEMBERS_READ,
    ("GET", "/v1/people/{person_id}/consents"): MEMBERS_READ,
    ("GET", "/v1/people/{person_id}/duplicates"): MEMBERS_READ,
    ("GET", "/v1/people/{person_id}/timeline"): MEMBERS_READ,
    ("GET", "/v1/pipelines"): MEMBERS_READ,
    ("GET", "/v1/pipelines/{pipeline_id}"): MEMBERS_READ,
    ("GET", "/v1/properties"): MEMBERS_READ,
    ("GET", "/v1/properties/{property_id}"): MEMBERS_READ,
    ("GET", "/v1/properties/{property_id}/matches"): MEMBERS_READ,
    ("GET", "/v1/tasks"): MEMBERS_READ,
    ("GET", "/v1/tasks/{task_id}"): MEMBERS_READ,
    ("GET", "/v1/teams"): MEMBERS_READ,
    ("GET", "/v1/teams/{team_id}"): MEMBERS_READ,
    ("GET", "/v1/users"): MEMBERS_READ,
    ("GET", "/v1/users/{user_id}"): MEMBERS_READ,
    ("GET", "/v1/visits"): MEMBERS_READ,
    ("GET", "/v1/visits/{visit_id}"): MEMBERS_READ,
    # USERS_ONLY
    ("GET", "/v1/my-day"): USERS_ONLY,
    ("GET", "/v1/me/notifications"): USERS_ONLY,
    ("POST", "/v1/me/notifications/read"): USERS_ONLY,
    ("POST", "/v1/me/notifications/{notification_id}/read"): USERS_ONLY,
    # MEMBERS_WRITE
    ("POST", "/v1/attachments"): MEMBERS_WRITE,
    ("DELETE", "/v1/attachments/{attachment_id}"): MEMBERS_WRITE,
    ("POST", "/v1/developments"): MEMBERS_WRITE,
    ("PATCH", "/v1/developments/{development_id}"): MEMBERS_WRITE,
    ("POST", "/v1/developments/{development_id}/units"): MEMBERS_WRITE,
    ("POST", "/v1/interactions"): MEMBERS_WRITE,
    ("DELETE", "/v1/interactions/{interaction_id}"): MEMBERS_WRITE,
    ("PATCH", "/v1/interactions/{interaction_id}"): MEMBERS_WRITE,
    ("POST", "/v1/leads"): MEMBERS_WRITE,
    ("POST", "/v1/leads/bulk"): MEMBERS_WRITE,
    ("PATCH", "/v1/leads/{lead_id}"): MEMBERS_WRITE,
    ("POST", "/v1/leads/{lead_id}/assign"): MEMBERS_WRITE,
    ("POST", "/v1/leads/{lead_id}/move"): MEMBERS_WRITE,
    ("PUT", "/v1/me/duty"): MEMBERS_WRITE,
    ("POST", "/v1/people"): MEMBERS_WRITE,
    ("PATCH", "/v1/people/{person_id}"): MEMBERS_WRITE,
    ("POST", "/v1/people/{person_id}/consents"): MEMBERS_WRITE,
    ("POST", "/v1/properties"): MEMBERS_WRITE,
    ("PATCH", "/v1/properties/{property_id}"): MEMBERS_WRITE,
    ("POST", "/v1/tasks"): MEMBERS_WRITE,
    ("DELETE", "/v1/tasks/{task_id}"): MEMBERS_WRITE,
    ("PATCH", "/v1/tasks/{task_id}"): MEMBERS_WRITE,
    ("POST", "/v1/tasks/{task_id}/complete"): MEMBERS_WRITE,
    ("POST", "/v1/tasks/{task_id}/reopen"): MEMBERS_WRITE,
    ("POST", "/v1/visits"): MEMBERS_WRITE,
    ("DELETE", "/v1/visits/{visit_id}"): MEMBERS_WRITE,
    ("PATCH", "/v1/visits/{visit_id}"): MEMBERS_WRITE,
    # MANAGERS
    ("GET", "/v1/api-keys"): MANAGERS,
    ("POST", "/v1/api-keys"): MANAGERS,
    ("DELETE", "/v1/api-keys/{key_id}"): MANAGERS,
    ("GET", "/v1/audit"): MANAGERS,
    ("POST", "/v1/custom-fields"): MANAGERS,
    ("DELETE", "/v1/custom-fields/{field_id}"): MANAGERS,
    ("PATCH", "/v1/custom-fields/{field_id}"): MANAGERS,
    ("DELETE", "/v1/developments/{development_id}"): MANAGERS,
    ("POST", "/v1/developments/{development_id}/restore"): MANAGERS,
    ("GET", "/v1/events"): MANAGERS,
    ("GET", "/v1/forms"): MANAGERS,
    ("POST", "/v1/forms"): MANAGERS,
    ("GET", "/v1/forms/{form_id}"): MANAGERS,
    ("PATCH", "/v1/forms/{form_id}"): MANAGERS,
    ("GET", "/v1/imports"): MANAGERS,
    ("POST", "/v1/imports"): MANAGERS,
    ("GET", "/v1/imports/{job_id}"): MANAGERS,
    ("POST", "/v1/imports/{job_id}/revert"): MANAGERS,
    ("POST", "/v1/imports/{job_id}/run"): MANAGERS,
    ("DELETE", "/v1/leads/{lead_id}"): MANAGERS,
    ("POST", "/v1/leads/{lead_id}/restore"): MANAGERS,
    ("POST", "/v1/loss-reasons"): MANAGERS,
    ("DELETE", "/v1/loss-reasons/{loss_reason_id}"): MANAGERS,
    ("GET", "/v1/ops/dead-letters"): MANAGERS,
    ("POST", "/v1/ops/dead-letters/retry"): MANAGERS,
    ("POST", "/v1/ops/dead-letters/{message_id}/retry"): MANAGERS,
    ("GET", "/v1/ops/queues"): MANAGERS,
    ("POST", "/v1/ops/replays"): MANAGERS,
    ("POST", "/v1/people/merges/{merge_id}/undo"): MANAGERS,
    ("DELETE", "/v1/people/{person_id}"): MANAGERS,
    ("POST", "/v1/people/{person_id}/merge"): MANAGERS,
    ("POST", "/v1/people/{person_id}/restore"): MANAGERS,
    ("POST", "/v1/pipelines"): MANAGERS,
    ("DELETE", "/v1/pipelines/{pipeline_id}"): MANAGERS,
    ("PATCH", "/v1/pipelines/{pipeline_id}"): MANAGERS,
    ("POST", "/v1/pipelines/{pipeline_id}/stages"): MANAGERS,
    ("PUT", "/v1/pipelines/{pipeline_id}/transitions"): MANAGERS,
    ("DELETE", "/v1/properties/{property_id}"): MANAGERS,
    ("POST", "/v1/properties/{property_id}/restore"): MANAGERS,
    ("GET", "/v1/rejected-events"): MANAGERS,
    ("GET", "/v1/rule-sets"): MANAGERS,
    ("POST", "/v1/rule-sets"): MANAGERS,
    ("POST", "/v1/rule-sets/preview"): MANAGERS,
    ("GET", "/v1/rule-sets/{version}"): MANAGERS,
    ("DELETE", "/v1/stages/{stage_id}"): MANAGERS,
    ("PATCH", "/v1/stages/{stage_id}"): MANAGERS,
    ("POST", "/v1/teams"): MANAGERS,
    ("DELETE", "/v1/teams/{team_id}"): MANAGERS,
    ("PATCH", "/v1/teams/{team_id}"): MANAGERS,
    ("DELETE", "/v1/teams/{team_id}/members/{user_id}"): MANAGERS,
    ("PUT", "/v1/teams/{team_id}/members/{user_id}"): MANAGERS,
    ("POST", "/v1/teams/{team_id}/restore"): MANAGERS,
    ("GET", "/v1/teams/{team_id}/roleta"): MANAGERS,
    ("GET", "/v1/teams/{team_id}/roleta/preview"): MANAGERS,
    ("PUT", "/v1/teams/{team_id}/roleta"): MANAGERS,
    ("GET", "/v1/tracking/snippet"): MANAGERS,
    ("POST", "/v1/users"): MANAGERS,
    ("DELETE", "/v1/users/{user_id}"): MANAGERS,
    ("PATCH", "/v1/users/{user_id}"): MANAGERS,
    ("POST", "/v1/users/{user_id}/restore"): MANAGERS,
    # Public pages of the tenant's site, the console's login page and static files, and the inbound channel hooks
    # (authenticated by each vendor's signature or Basic credentials, tests/integrations).
    ("GET", "/"): PUBLIC,
    ("GET", "/app/login"): PUBLIC,
    ("GET", "/app/static/vendor/{name}"): PUBLIC,
    ("GET", "/app/static/{name}"): PUBLIC,
    ("GET", "/empreendimentos/{slug}"): PUBLIC,
    ("GET", "/hooks/{provider}/{key}"): PUBLIC,
    ("POST", "/hooks/{provider}/{key}"): PUBLIC,
    ("GET", "/imoveis/{reference}"): PUBLIC,
    ("GET", "/obrigado"): PUBLIC,
    ("GET", "/robots.txt"): PUBLIC,
    ("GET", "/sitemap.xml"): PUBLIC,
    # The console authenticates by its own session cookie (tests/console): an API credential carries no weight
    # there, every caller without the cookie is sent to the login page (a redirect, past this layer).
    ("GET", "/app"): CONSOLE_PAGE,
    ("GET", "/app/"): CONSOLE_PAGE,
    ("GET", "/app/funil"): CONSOLE_PAGE,
    ("GET", "/app/leads"): CONSOLE_PAGE,
    ("GET", "/app/leads/{lead_id}"): CONSOLE_PAGE,
    ("GET", "/app/operacoes"): CONSOLE_PAGE,
    ("GET", "/app/notificacoes"): CONSOLE_PAGE,
    ("GET", "/app/auditoria"): CONSOLE_PAGE,
    ("GET", "/app/auditoria/cadeia"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/campos"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/equipes"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/integracoes"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/funis"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/regras"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/retencao"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/sites"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/usuarios"): CONSOLE_PAGE,
    ("GET", "/app/configuracoes/webhooks"): CONSOLE_PAGE,
    ("GET", "/app/painel"): CONSOLE_PAGE,
    ("GET", "/app/password"): CONSOLE_PAGE,
    ("GET", "/app/pessoas"): CONSOLE_PAGE,
    ("GET", "/app/pessoas/{person_id}"): CONSOLE_PAGE,
    ("GET", "/app/imoveis"): CONSOLE_PAGE,
    ("GET", "/app/imoveis/{property_id}"): CONSOLE_PAGE,
    ("GET", "/app/empreendimentos"): CONSOLE_PAGE,
    ("GET", "/app/empreendimentos/{development_id}"): CONSOLE_PAGE,
    ("GET", "/app/stream"): CONSOLE_PAGE,
    # The console's forms: refused (403) without the console session's CSRF token, whatever API credential.
    ("POST", "/app/lang"): CONSOLE_FORM,
    ("POST", "/app/leads/bulk"): CONSOLE_FORM,
    ("POST", "/app/leads/views"): CONSOLE_FORM,
    ("POST", "/app/leads/views/{view_id}/delete"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/assign"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/contact"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/interactions"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/move"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/tasks"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/visits"): CONSOLE_FORM,
    ("POST", "/app/leads/{lead_id}/whatsapp"): CONSOLE_FORM,
    ("POST", "/app/login"): CONSOLE_FORM,
    ("POST", "/app/logout"): CONSOLE_FORM,
    ("POST", "/app/operacoes/crm/{provider}/testar"): CONSOLE_FORM,
    ("POST", "/app/operacoes/dead-letters/retry"): CONSOLE_FORM,
    ("POST", "/app/operacoes/integracoes/{connection_id}/testar"): CONSOLE_FORM,
    ("POST", "/app/operacoes/dead-letters/{message_id}/retry"): CONSOLE_FORM,
    ("POST", "/app/operacoes/replay"): CONSOLE_FORM,
    ("POST", "/app/operacoes/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/campos"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/campos/{field_id}/remover"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/campos/{field_id}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes/{team_id}/membros"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes/{team_id}/membros/{user_id}/remover"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes/{team_id}/nome"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes/{team_id}/remover"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/equipes/{team_id}/roleta"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/etapas/{stage_id}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/etapas/{stage_id}/posicao"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/etapas/{stage_id}/remover"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis/{pipeline_id}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis/{pipeline_id}/etapas"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis/{pipeline_id}/padrao"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis/{pipeline_id}/remover"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/funis/{pipeline_id}/transicoes"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/integracoes"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/integracoes/{connection_id}/desconectar"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/integracoes/crm/{provider}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/integracoes/crm/{provider}/desconectar"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/regras"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/regras/teste"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/retencao"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/sites"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/sites/{key_id}/revogar"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/usuarios"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/usuarios/{user_id}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/webhooks"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/webhooks/{endpoint_id}"): CONSOLE_FORM,
    ("POST", "/app/configuracoes/webhooks/{endpoint_id}/segredo"): CONSOLE_FORM,
    ("POST", "/app/notificacoes/lidas"): CONSOLE_FORM,
    ("POST", "/app/notificacoes/{notification_id}/abrir"): CONSOLE_FORM,
    ("POST", "/app/password"): CONSOLE_FORM,
    ("POST", "/app/pessoas/{person_id}/merge"): CONSOLE_FORM,
    ("POST", "/app/pessoas/merges/{merge_id}/desfazer"): CONSOLE_FORM,
    # Consents and purposes (LGPD): read by every role and a secret key with read.
    ("GET", "/v1/people/{person_id}/privacy/consents"): MEMBERS_READ,
    ("GET", "/v1/privacy/purposes"): MEMBERS_READ,
    # Recording a consent, sending WhatsApp from a lead: every role but the viewer.
    ("POST", "/v1/leads/{lead_id}/whatsapp"): MEMBERS_WRITE,
    ("POST", "/v1/people/{person_id}/privacy/consents"): MEMBERS_WRITE,
    # Integrations, partner webhooks, CRM sync, data-subject requests, export and anonymisation: owners and managers.
    ("GET", "/v1/integrations"): MANAGERS,
    ("POST", "/v1/integrations"): MANAGERS,
    ("GET", "/v1/integrations/providers"): MANAGERS,
    ("DELETE", "/v1/integrations/{connection_id}"): MANAGERS,
    ("GET", "/v1/integrations/{connection_id}"): MANAGERS,
    ("PATCH", "/v1/integrations/{connection_id}"): MANAGERS,
    ("GET", "/v1/integrations/{connection_id}/health"): MANAGERS,
    ("POST", "/v1/integrations/{connection_id}/test"): MANAGERS,
    ("POST", "/v1/people/{person_id}/anonymise"): MANAGERS,
    ("GET", "/v1/people/{person_id}/export"): MANAGERS,
    ("POST", "/v1/privacy/purposes"): MANAGERS,
    ("GET", "/v1/privacy/requests"): MANAGERS,
    ("POST", "/v1/privacy/requests"): MANAGERS,
    ("POST", "/v1/privacy/requests/{request_id}/close"): MANAGERS,
    ("PUT", "/v1/sync/hubspot"): MANAGERS,
    ("PUT", "/v1/sync/pipedrive"): MANAGERS,
    ("PUT", "/v1/sync/salesforce"): MANAGERS,
    ("PUT", "/v1/sync/rdstation"): MANAGERS,
    ("DELETE", "/v1/sync/{provider}"): MANAGERS,
    ("GET", "/v1/sync/{provider}"): MANAGERS,
    ("POST", "/v1/sync/{provider}/resync"): MANAGERS,
    ("POST", "/v1/sync/{provider}/test"): MANAGERS,
    ("GET", "/v1/webhooks"): MANAGERS,
    ("POST", "/v1/webhooks"): MANAGERS,
    ("GET", "/v1/webhooks/event-types"): MANAGERS,
    ("DELETE", "/v1/webhooks/{endpoint_id}"): MANAGERS,
    ("GET", "/v1/webhooks/{endpoint_id}"): MANAGERS,
    ("PATCH", "/v1/webhooks/{endpoint_id}"): MANAGERS,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries"): MANAGERS,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): MANAGERS,
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): MANAGERS,
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): MANAGERS,
}
