"""Bearer tokens, and row-level security: the database enforces each request's fund scope.

- `tokens`: random bearer tokens stored only as a SHA-256 hash (the service
  role cannot even read the hash column), with role, scope, expiry and revocation.
- Every request's transaction calls `clubfund_authenticate(hash)` once: one
  indexed lookup that, for a valid token, sets the transaction-local settings
  `clubfund.principal_id`, and either `clubfund.all_funds = 'on'` (admin) or
  `clubfund.club_ids` / `clubfund.fund_ids` (the clubs of its club or area
  scope, and their funds). Settings are set with `set_config(..., true)`, so
  they end with the transaction and a pooled connection never carries one
  request's scope into the next.
- Fund-scoped tables ENABLE and FORCE row-level security with the standard
  policy (`clubfund_protect_fund_table`): a row is visible and writable only
  when its fund is in scope. Unset or empty settings see nothing (fail closed).
  FORCE makes the policy bind the owner too, so the SECURITY DEFINER trigger
  functions of the foundation migration work inside the request's scope.

EVERY NEW FUND-SCOPED TABLE's migration must call, after CREATE TABLE:

    SELECT clubfund_protect_fund_table('loans');

(and `clubfund_protect_club_table('members')` for a table keyed by `club_id`).
Data migrations that touch fund-scoped rows as the owner must first run
`SELECT set_config('clubfund.all_funds', 'on', true)`.

Revision ID: 2026_11_23_access_control
Revises: 2026_11_23_areas_clubs
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_access_control"
down_revision = "2026_11_23_areas_clubs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE tokens (
        id              text        NOT NULL,
        hash            text        NOT NULL,
        role            text        NOT NULL,
        scope_club_id   uuid,
        scope_area_code text,
        can_write       boolean     NOT NULL,
        label           text,
        created_at      timestamptz NOT NULL,
        created_by      text        NOT NULL,
        expires_at      timestamptz,
        revoked_at      timestamptz,
        revoked_by      text,
        CONSTRAINT pk_tokens PRIMARY KEY (id),
        CONSTRAINT uq_tokens_hash UNIQUE (hash),
        CONSTRAINT fk_tokens_scope_club_id_clubs FOREIGN KEY (scope_club_id) REFERENCES clubs (id),
        CONSTRAINT fk_tokens_scope_area_code_areas
            FOREIGN KEY (scope_area_code) REFERENCES areas (code),
        CONSTRAINT ck_tokens_role
            CHECK (role IN ('admin', 'auditor', 'treasurer', 'chair', 'integration')),
        CONSTRAINT ck_tokens_scope CHECK (
            CASE role
                WHEN 'admin' THEN scope_club_id IS NULL AND scope_area_code IS NULL
                WHEN 'treasurer' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                WHEN 'chair' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                ELSE (scope_club_id IS NULL) <> (scope_area_code IS NULL)
            END
        ),
        CONSTRAINT ck_tokens_can_write CHECK (role = 'integration' OR NOT can_write),
        CONSTRAINT ck_tokens_label CHECK (label IS NULL OR length(label) <= 200)
    );

    -- The standard policy of a fund-scoped table: the row's fund is in the
    -- request's scope. The settings are read through scalar subqueries, so they
    -- are evaluated once per statement (an InitPlan), not once per row; the
    -- outer no-op cast makes `= ANY (...)` take the array, not a subquery.
    CREATE FUNCTION clubfund_fund_scope_predicate(fund_column text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT format(
            '(SELECT current_setting(''clubfund.all_funds'', true) = ''on'')'
            ' OR %1$I = ANY ((SELECT nullif(current_setting(''clubfund.fund_ids'', true), '''')'
            '::uuid[])::uuid[])',
            fund_column)
    $$;

    CREATE FUNCTION clubfund_club_scope_predicate(club_column text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT format(
            '(SELECT current_setting(''clubfund.all_funds'', true) = ''on'')'
            ' OR %1$I = ANY ((SELECT nullif(current_setting(''clubfund.club_ids'', true), '''')'
            '::uuid[])::uuid[])',
            club_column)
    $$;

    -- The one-liner every fund-scoped table's migration calls.
    CREATE FUNCTION clubfund_protect_fund_table(target regclass) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
        EXECUTE format('CREATE POLICY fund_scope ON %s USING (%s) WITH CHECK (%s)', target,
                       clubfund_fund_scope_predicate('fund_id'),
                       clubfund_fund_scope_predicate('fund_id'));
    END $$;

    -- The same for a table keyed by club (members, for example).
    CREATE FUNCTION clubfund_protect_club_table(target regclass) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
        EXECUTE format('CREATE POLICY club_scope ON %s USING (%s) WITH CHECK (%s)', target,
                       clubfund_club_scope_predicate('club_id'),
                       clubfund_club_scope_predicate('club_id'));
    END $$;

    SELECT clubfund_protect_fund_table('accounts');
    SELECT clubfund_protect_fund_table('account_balances');
    SELECT clubfund_protect_fund_table('entries');
    SELECT clubfund_protect_fund_table('postings');

    -- Funds: the fund is in scope by its id, or by the club it belongs to (so
    -- that `clubfund_authenticate` can list the funds of the scope's clubs).
    ALTER TABLE funds ENABLE ROW LEVEL SECURITY;
    ALTER TABLE funds FORCE ROW LEVEL SECURITY;
    DO $$
    BEGIN
        EXECUTE format('CREATE POLICY fund_scope ON funds USING (%1$s OR %2$s) WITH CHECK (%1$s)',
                       clubfund_fund_scope_predicate('id'),
                       clubfund_club_scope_predicate('club_id'));
    END $$;

    -- Stored responses belong to their caller; those of writes to no fund
    -- (the all-zero fund id) are visible to that caller alone.
    ALTER TABLE idempotency_records ENABLE ROW LEVEL SECURITY;
    ALTER TABLE idempotency_records FORCE ROW LEVEL SECURITY;
    DO $$
    DECLARE
        predicate text := format(
            'principal_id = (SELECT current_setting(''clubfund.principal_id'', true))'
            ' AND (fund_id = ''00000000-0000-0000-0000-000000000000'' OR %s)',
            clubfund_fund_scope_predicate('fund_id'));
    BEGIN
        EXECUTE format('CREATE POLICY principal_scope ON idempotency_records'
                       ' USING (%1$s) WITH CHECK (%1$s)', predicate);
    END $$;

    -- Clubs are reference data, but the service sees only the clubs in scope.
    -- Not FORCEd: the owner (and so `clubfund_authenticate`) resolves areas to clubs.
    ALTER TABLE clubs ENABLE ROW LEVEL SECURITY;
    DO $$
    BEGIN
        EXECUTE format('CREATE POLICY club_scope ON clubs USING (%1$s) WITH CHECK (%1$s)',
                       clubfund_club_scope_predicate('id'));
    END $$;

    -- Authenticate a request and set its scope: one indexed lookup and one
    -- round trip. Returns the token (failure NULL when it may be used) and, for
    -- a usable token, sets the transaction-local scope settings and returns the
    -- funds in scope (NULL: every fund) for the service's own checks.
    CREATE FUNCTION clubfund_authenticate(presented_hash text)
    RETURNS TABLE (token_id text, role text, scope text, can_write boolean, failure text,
                   fund_ids uuid[])
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    #variable_conflict use_column
    DECLARE
        found_token tokens%ROWTYPE;
        today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
        scoped_clubs uuid[];
    BEGIN
        SELECT * INTO found_token FROM tokens t WHERE t.hash = presented_hash;
        IF NOT FOUND THEN
            failure := 'unknown_token';
            RETURN NEXT;
            RETURN;
        END IF;
        token_id := found_token.id;
        role := found_token.role;
        can_write := found_token.can_write;
        scope := CASE
            WHEN found_token.scope_club_id IS NOT NULL THEN 'club:' || found_token.scope_club_id
            WHEN found_token.scope_area_code IS NOT NULL THEN 'area:' || found_token.scope_area_code
        END;
        IF found_token.revoked_at IS NOT NULL THEN
            failure := 'revoked';
        ELSIF found_token.expires_at IS NOT NULL AND found_token.expires_at <= now() THEN
            failure := 'expired';
        END IF;
        IF failure IS NOT NULL THEN
            RETURN NEXT;
            RETURN;
        END IF;

        PERFORM set_config('clubfund.principal_id', found_token.id, true);
        IF found_token.role = 'admin' THEN
            PERFORM set_config('clubfund.all_funds', 'on', true);
            RETURN NEXT;
            RETURN;
        END IF;
        IF found_token.scope_club_id IS NOT NULL THEN
            scoped_clubs := ARRAY[found_token.scope_club_id];
        ELSE
            -- The area and every area under it in the tree valid today.
            WITH RECURSIVE subtree (code) AS (
                SELECT a.code FROM areas a WHERE a.code = found_token.scope_area_code
                UNION
                SELECT p.code
                  FROM area_parents p
                  JOIN subtree s ON p.parent_code = s.code
                 WHERE p.valid_from <= today AND (p.valid_to IS NULL OR p.valid_to > today)
            )
            SELECT coalesce(array_agg(c.id), '{}') INTO scoped_clubs
              FROM clubs c WHERE c.area_code IN (SELECT s.code FROM subtree s);
        END IF;
        PERFORM set_config('clubfund.club_ids', scoped_clubs::text, true);
        SELECT coalesce(array_agg(f.id), '{}') INTO fund_ids
          FROM funds f WHERE f.club_id = ANY (scoped_clubs);
        PERFORM set_config('clubfund.fund_ids', fund_ids::text, true);
        RETURN NEXT;
    END $$;

    REVOKE ALL ON FUNCTION clubfund_protect_fund_table(regclass) FROM PUBLIC;
    REVOKE ALL ON FUNCTION clubfund_protect_club_table(regclass) FROM PUBLIC;
    REVOKE ALL ON FUNCTION clubfund_authenticate(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION clubfund_authenticate(text) TO clubfund_app;

    -- The service writes tokens but never reads a hash back.
    GRANT SELECT (id, role, scope_club_id, scope_area_code, can_write, label, created_at,
                  created_by, expires_at, revoked_at, revoked_by) ON tokens TO clubfund_app;
    GRANT INSERT ON tokens TO clubfund_app;
    GRANT UPDATE (revoked_at, revoked_by) ON tokens TO clubfund_app;

    -- GET /readyz (public, unscoped) reports the schema revision.
    GRANT SELECT ON alembic_version TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    REVOKE SELECT ON alembic_version FROM clubfund_app;
    DROP POLICY club_scope ON clubs;
    ALTER TABLE clubs DISABLE ROW LEVEL SECURITY;
    DROP POLICY principal_scope ON idempotency_records;
    DROP POLICY fund_scope ON funds;
    DROP POLICY fund_scope ON postings;
    DROP POLICY fund_scope ON entries;
    DROP POLICY fund_scope ON account_balances;
    DROP POLICY fund_scope ON accounts;
    ALTER TABLE idempotency_records NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    ALTER TABLE funds NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    ALTER TABLE postings NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    ALTER TABLE entries NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    ALTER TABLE account_balances NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
    DROP FUNCTION clubfund_authenticate(text);
    DROP FUNCTION clubfund_protect_club_table(regclass);
    DROP FUNCTION clubfund_protect_fund_table(regclass);
    DROP FUNCTION clubfund_club_scope_predicate(text);
    DROP FUNCTION clubfund_fund_scope_predicate(text);
    DROP TABLE tokens;
    """)
