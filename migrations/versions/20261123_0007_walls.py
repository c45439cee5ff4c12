"""walls: PostgreSQL row-level security on every tenant table, the application roles and their grants

Hand-written (the only hand-written DDL in the history). PostgreSQL only; a no-op on SQLite.

- ``leadflow_app`` (NOLOGIN group): the privileges the API and the worker need. The login role the app connects
  with (``LEADFLOW_DATABASE_URL``) is a member; it is neither superuser nor owner and has no BYPASSRLS.
- ``leadflow_system`` (NOLOGIN group): membership allows the *system scope* (CLI, demo seed, the bus claim, and
  the few lookups that must find any tenant's row by a secret, such as an API key by its hash). A member must
  also switch it on per transaction with ``set_config('app.system', 'on', true)``; without both nothing passes.
- ``leadflow_apply_walls()`` (a stored function) enumerates, from the catalog, every table of the current schema
  having a ``tenant_id`` column and enables + FORCEs row-level security with the policies below, re-grants the
  app's privileges, and keeps the append-only tables append-only. It is idempotent: ``leadflow migrate`` calls it
  after every upgrade, so tables added by later migrations are walled without touching this file (a test fails
  when a tenant table is left without FORCE RLS and its policies).

Policies (permissive, OR-ed):
- ``tenant_isolation``: ``tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid`` for USING and
  WITH CHECK. The session sets ``app.tenant_id`` with ``set_config(..., true)`` (SET LOCAL) at the start of every
  transaction, so a pooled connection never carries a tenant over; ``nullif`` because a reverted custom setting
  reads as '' rather than NULL. No tenant set: no row.
- ``system_scope``: ``app.system = 'on'`` and membership of ``leadflow_system``.
- ``tenants`` (keyed by ``id``) gets the same pair on ``id``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "leadflow_app"
SYSTEM_ROLE = "leadflow_system"
# Rows of these tables are never changed once written: the app roles may read and insert only. Retention
# purges of the audit log run as the owner role.
APPEND_ONLY_TABLES = ("audit_log",)

CREATE_ROLES = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- created meanwhile by a twin
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SYSTEM_ROLE}') THEN
        BEGIN
            CREATE ROLE {SYSTEM_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    -- The owner runs the CLI's system scope (and retention purges) too; a superuser is a member of every role.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{SYSTEM_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {SYSTEM_ROLE} TO %I', current_user);
    END IF;
END
$$
"""

# The whole wall as one idempotent function: it reads the tables from the catalog at run time.
APPLY_WALLS = f"""
CREATE OR REPLACE FUNCTION leadflow_apply_walls() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    t record;
    tenant_expr text := 'nullif(current_setting(''app.tenant_id'', true), '''')::uuid';
    system_expr text := 'current_setting(''app.system'', true) = ''on'' '
                        'AND pg_has_role(current_user, ''{SYSTEM_ROLE}'', ''MEMBER'')';
    schema_name text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {APP_ROLE}', schema_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}',
                   schema_name);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}', schema_name);
    IF NOT pg_has_role('{SYSTEM_ROLE}', '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE 'GRANT {APP_ROLE} TO {SYSTEM_ROLE}';
    END IF;

    -- The schema version is the migrations' business: the app may read it (/readyz) but never move it.
    IF to_regclass(format('%I.alembic_version', schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.alembic_version FROM {APP_ROLE}', schema_name);
    END IF;

    FOR t IN
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE n.nspname = schema_name AND c.relkind IN ('r', 'p')
        UNION
        SELECT 'tenants' WHERE to_regclass(format('%I.tenants', schema_name)) IS NOT NULL
    LOOP
        EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', schema_name, t.relname);
        EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', schema_name, t.relname);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I.%I', schema_name, t.relname);
        EXECUTE format('DROP POLICY IF EXISTS system_scope ON %I.%I', schema_name, t.relname);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I.%I USING (%I = %s) WITH CHECK (%I = %s)',
                       schema_name, t.relname,
                       CASE WHEN t.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END, tenant_expr,
                       CASE WHEN t.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END, tenant_expr);
        EXECUTE format('CREATE POLICY system_scope ON %I.%I USING (%s) WITH CHECK (%s)',
                       schema_name, t.relname, system_expr, system_expr);
    END LOOP;

    FOR t IN SELECT unnest(ARRAY[{", ".join(f"'{name}'" for name in APPEND_ONLY_TABLES)}]) AS relname LOOP
        IF to_regclass(format('%I.%I', schema_name, t.relname)) IS NOT NULL THEN
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM {APP_ROLE}', schema_name, t.relname);
        END IF;
    END LOOP;
    -- LGPD redaction blanks recorded values (the chain commits to their hash, not to them): those two columns only.
    IF to_regclass(format('%I.audit_log', schema_name)) IS NOT NULL THEN
        EXECUTE format('GRANT UPDATE (changes, redacted_at, updated_at) ON %I.audit_log TO {APP_ROLE}', schema_name);
    END IF;
END
$fn$
"""

# Retention may delete audit entries only up to what a chained `audit.purged` entry of the current tenant declared:
# the app role cannot DELETE from audit_log, so this function, owned by the migration role, does it for it. Row
# security still applies inside (FORCE), so it reaches the current tenant's rows only.
PURGE_AUDIT = """
CREATE OR REPLACE FUNCTION leadflow_purge_audit(ids uuid[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
DECLARE
    tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
    declared bigint;
    removed integer;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'audit purge without a tenant';
    END IF;
    SELECT max((changes->>'to_seq')::bigint) INTO declared
    FROM audit_log WHERE tenant_id = tenant AND action = 'audit.purged';
    DELETE FROM audit_log WHERE tenant_id = tenant AND id = ANY(ids) AND seq <= coalesce(declared, 0);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$fn$
"""

TEAR_DOWN = """
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relrowsecurity
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t.relname);
        EXECUTE format('DROP POLICY IF EXISTS system_scope ON %I', t.relname);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t.relname);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t.relname);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no roles and no row security: the session scope is the one wall there
    op.execute(CREATE_ROLES)
    op.execute(APPLY_WALLS)
    op.execute("REVOKE ALL ON FUNCTION leadflow_apply_walls() FROM PUBLIC")
    op.execute("SELECT leadflow_apply_walls()")
    op.execute(PURGE_AUDIT)
    op.execute("REVOKE ALL ON FUNCTION leadflow_purge_audit(uuid[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION leadflow_purge_audit(uuid[]) TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The roles are cluster-wide and other databases may use them: they stay.
    op.execute(TEAR_DOWN)
    op.execute("DROP FUNCTION IF EXISTS leadflow_apply_walls()")
    op.execute("DROP FUNCTION IF EXISTS leadflow_purge_audit(uuid[])")
