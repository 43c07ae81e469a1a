"""People: the persons who hold roles. Tokens belong to a person; every write names it.

- `people`: name, phone (Vietnamese mobile, stored as `+84` and 9 digits, unique),
  role and scope (the same rules as tokens had), optionally the member of the scope's
  club the person is. Web sign-in (a PIN hash, a setup code, lock-out counters) will
  be more nullable columns on this table.
- `tokens.person_id`: each token belongs to one person and takes its role and scope
  from that person; the token keeps only `can_write` (integrations), its label,
  expiry and revocation. Each existing token gets a person of its own, named after
  its label (or its id), with the token's role and scope.
- `clubfund_authenticate` returns the person (and the member it is) and the clubs in
  scope, and sets `clubfund.person_id` for the request's transaction.
- People are visible to an admin, to callers whose scope holds the person's club,
  and to the person itself (row-level security, not FORCEd: the owner's
  `clubfund_authenticate` reads them before any scope is set).
- The loans' `applied_by`, `approved_by` and `write_off_requested_by` move from the
  token actor (`tok_…:role`) to the person actor (`person:<id>`), so that the
  four-eyes rule compares persons for applications already waiting. Journal, events
  and audit records keep the actor they were written with (append-only).

Revision ID: 2026_11_30_people
Revises: 2026_11_23_daily_group_balances
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_people"
down_revision = "2026_11_23_daily_group_balances"
branch_labels = None
depends_on = None

# The authentication function of 2026_11_23_access_control, restored on downgrade.
AUTHENTICATE_BY_TOKEN = """
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
    REVOKE ALL ON FUNCTION clubfund_authenticate(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION clubfund_authenticate(text) TO clubfund_app;
"""


def upgrade() -> None:
    execute_script("""
    -- A person may be a member of the club of her scope: (club, member) is a key.
    ALTER TABLE members ADD CONSTRAINT uq_members_club_id_id UNIQUE (club_id, id);

    CREATE TABLE people (
        id              uuid        NOT NULL,
        name            text        NOT NULL,
        phone           text,
        role            text        NOT NULL,
        scope_club_id   uuid,
        scope_area_code text,
        member_id       uuid,
        created_at      timestamptz NOT NULL,
        created_by      text        NOT NULL,
        CONSTRAINT pk_people PRIMARY KEY (id),
        CONSTRAINT uq_people_phone UNIQUE (phone),
        CONSTRAINT fk_people_scope_club_id_clubs FOREIGN KEY (scope_club_id) REFERENCES clubs (id),
        CONSTRAINT fk_people_scope_area_code_areas
            FOREIGN KEY (scope_area_code) REFERENCES areas (code),
        CONSTRAINT fk_people_scope_club_id_member_id_members
            FOREIGN KEY (scope_club_id, member_id) REFERENCES members (club_id, id),
        CONSTRAINT ck_people_name CHECK (length(name) BETWEEN 1 AND 200),
        CONSTRAINT ck_people_phone CHECK (phone ~ '^\\+84[35789][0-9]{8}$'),
        CONSTRAINT ck_people_role
            CHECK (role IN ('admin', 'auditor', 'treasurer', 'chair', 'integration')),
        CONSTRAINT ck_people_scope CHECK (
            CASE role
                WHEN 'admin' THEN scope_club_id IS NULL AND scope_area_code IS NULL
                WHEN 'treasurer' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                WHEN 'chair' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                ELSE (scope_club_id IS NULL) <> (scope_area_code IS NULL)
            END
        ),
        CONSTRAINT ck_people_member CHECK (member_id IS NULL OR scope_club_id IS NOT NULL)
    );
    CREATE INDEX ix_people_scope_club_id ON people (scope_club_id);

    ALTER TABLE people ENABLE ROW LEVEL SECURITY;
    DO $$
    DECLARE
        predicate text := format(
            '(%s) OR id::text = (SELECT current_setting(''clubfund.person_id'', true))',
            clubfund_club_scope_predicate('scope_club_id'));
    BEGIN
        EXECUTE format('CREATE POLICY person_scope ON people USING (%1$s) WITH CHECK (%1$s)',
                       predicate);
    END $$;
    GRANT SELECT, INSERT ON people TO clubfund_app;

    -- Each existing token becomes the token of a person of its own.
    ALTER TABLE tokens ADD COLUMN person_id uuid;
    UPDATE tokens SET person_id = gen_random_uuid();
    INSERT INTO people (id, name, phone, role, scope_club_id, scope_area_code, member_id,
                        created_at, created_by)
    SELECT person_id, coalesce(label, 'token ' || id), NULL, role, scope_club_id,
           scope_area_code, NULL, created_at, created_by
      FROM tokens;

    -- Loans waiting for a second person name the person who acted, not the token.
    SELECT set_config('clubfund.all_funds', 'on', true);
    UPDATE loans l
       SET applied_by = coalesce(
               (SELECT 'person:' || t.person_id FROM tokens t
                 WHERE l.applied_by = t.id || ':' || t.role), l.applied_by),
           approved_by = coalesce(
               (SELECT 'person:' || t.person_id FROM tokens t
                 WHERE l.approved_by = t.id || ':' || t.role), l.approved_by),
           write_off_requested_by = coalesce(
               (SELECT 'person:' || t.person_id FROM tokens t
                 WHERE l.write_off_requested_by = t.id || ':' || t.role),
               l.write_off_requested_by)
     WHERE l.applied_by LIKE 'tok\\_%' OR l.approved_by LIKE 'tok\\_%'
        OR l.write_off_requested_by LIKE 'tok\\_%';

    ALTER TABLE tokens
        ALTER COLUMN person_id SET NOT NULL,
        ADD CONSTRAINT fk_tokens_person_id_people FOREIGN KEY (person_id) REFERENCES people (id),
        DROP CONSTRAINT ck_tokens_can_write,
        DROP CONSTRAINT ck_tokens_scope,
        DROP CONSTRAINT ck_tokens_role,
        DROP COLUMN role,
        DROP COLUMN scope_club_id,
        DROP COLUMN scope_area_code;
    CREATE INDEX ix_tokens_person_id ON tokens (person_id);
    GRANT SELECT (person_id) ON tokens TO clubfund_app;

    DROP FUNCTION clubfund_authenticate(text);
    -- Authenticate a request: the token, its person (role, scope, the member she is),
    -- and for a usable token the transaction-local scope settings, in one statement.
    -- `can_write` holds only for an integration person's token.
    CREATE FUNCTION clubfund_authenticate(presented_hash text)
    RETURNS TABLE (token_id text, person_id uuid, role text, scope text, can_write boolean,
                   member_id uuid, failure text, club_ids uuid[], fund_ids uuid[])
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    #variable_conflict use_column
    DECLARE
        found_token tokens%ROWTYPE;
        found_person people%ROWTYPE;
        today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    BEGIN
        SELECT * INTO found_token FROM tokens t WHERE t.hash = presented_hash;
        IF NOT FOUND THEN
            failure := 'unknown_token';
            RETURN NEXT;
            RETURN;
        END IF;
        SELECT * INTO found_person FROM people p WHERE p.id = found_token.person_id;
        token_id := found_token.id;
        person_id := found_person.id;
        role := found_person.role;
        member_id := found_person.member_id;
        can_write := found_token.can_write AND found_person.role = 'integration';
        scope := CASE
            WHEN found_person.scope_club_id IS NOT NULL THEN 'club:' || found_person.scope_club_id
            WHEN found_person.scope_area_code IS NOT NULL
                THEN 'area:' || found_person.scope_area_code
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
        PERFORM set_config('clubfund.person_id', found_person.id::text, true);
        IF found_person.role = 'admin' THEN
            PERFORM set_config('clubfund.all_funds', 'on', true);
            RETURN NEXT;
            RETURN;
        END IF;
        IF found_person.scope_club_id IS NOT NULL THEN
            club_ids := ARRAY[found_person.scope_club_id];
        ELSE
            -- The area and every area under it in the tree valid today.
            WITH RECURSIVE subtree (code) AS (
                SELECT a.code FROM areas a WHERE a.code = found_person.scope_area_code
                UNION
                SELECT p.code
                  FROM area_parents p
                  JOIN subtree s ON p.parent_code = s.code
                 WHERE p.valid_from <= today AND (p.valid_to IS NULL OR p.valid_to > today)
            )
            SELECT coalesce(array_agg(c.id), '{}') INTO club_ids
              FROM clubs c WHERE c.area_code IN (SELECT s.code FROM subtree s);
        END IF;
        PERFORM set_config('clubfund.club_ids', club_ids::text, true);
        SELECT coalesce(array_agg(f.id), '{}') INTO fund_ids
          FROM funds f WHERE f.club_id = ANY (club_ids);
        PERFORM set_config('clubfund.fund_ids', fund_ids::text, true);
        RETURN NEXT;
    END $$;
    REVOKE ALL ON FUNCTION clubfund_authenticate(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION clubfund_authenticate(text) TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION clubfund_authenticate(text);
    ALTER TABLE tokens
        ADD COLUMN role text,
        ADD COLUMN scope_club_id uuid,
        ADD COLUMN scope_area_code text;
    UPDATE tokens t
       SET role = p.role, scope_club_id = p.scope_club_id, scope_area_code = p.scope_area_code,
           can_write = t.can_write AND p.role = 'integration'
      FROM people p WHERE p.id = t.person_id;

    -- A person's actions go back to the person's first token.
    SELECT set_config('clubfund.all_funds', 'on', true);
    WITH person_actors AS (
        SELECT DISTINCT ON (t.person_id) 'person:' || t.person_id AS person_actor,
               t.id || ':' || t.role AS token_actor
          FROM tokens t ORDER BY t.person_id, t.created_at, t.id
    )
    UPDATE loans l
       SET applied_by = coalesce(
               (SELECT a.token_actor FROM person_actors a WHERE a.person_actor = l.applied_by),
               l.applied_by),
           approved_by = coalesce(
               (SELECT a.token_actor FROM person_actors a WHERE a.person_actor = l.approved_by),
               l.approved_by),
           write_off_requested_by = coalesce(
               (SELECT a.token_actor FROM person_actors a
                 WHERE a.person_actor = l.write_off_requested_by),
               l.write_off_requested_by)
     WHERE l.applied_by LIKE 'person:%' OR l.approved_by LIKE 'person:%'
        OR l.write_off_requested_by LIKE 'person:%';

    DROP INDEX ix_tokens_person_id;
    ALTER TABLE tokens
        DROP CONSTRAINT fk_tokens_person_id_people,
        DROP COLUMN person_id,
        ALTER COLUMN role SET NOT NULL,
        ADD CONSTRAINT fk_tokens_scope_club_id_clubs
            FOREIGN KEY (scope_club_id) REFERENCES clubs (id),
        ADD CONSTRAINT fk_tokens_scope_area_code_areas
            FOREIGN KEY (scope_area_code) REFERENCES areas (code),
        ADD CONSTRAINT ck_tokens_role
            CHECK (role IN ('admin', 'auditor', 'treasurer', 'chair', 'integration')),
        ADD CONSTRAINT ck_tokens_scope CHECK (
            CASE role
                WHEN 'admin' THEN scope_club_id IS NULL AND scope_area_code IS NULL
                WHEN 'treasurer' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                WHEN 'chair' THEN scope_club_id IS NOT NULL AND scope_area_code IS NULL
                ELSE (scope_club_id IS NULL) <> (scope_area_code IS NULL)
            END
        ),
        ADD CONSTRAINT ck_tokens_can_write CHECK (role = 'integration' OR NOT can_write);
    GRANT SELECT (role, scope_club_id, scope_area_code) ON tokens TO clubfund_app;
    DROP TABLE people;
    ALTER TABLE members DROP CONSTRAINT uq_members_club_id_id;
    """ + AUTHENTICATE_BY_TOKEN)
