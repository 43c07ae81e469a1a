"""Web sign-in: a PIN per person, one-time setup codes, lock-out, and server-side sessions.

- `web_credentials`: one row per person who may sign in on the pages: the argon2id hash
  of her PIN (NULL until she set it), the argon2id hash of the one-time setup code an
  admin handed her and when it expires, and the failed attempts since the last success
  with the time the sign-in is locked until.
- `web_sessions`: a signed-in browser. The cookie holds the secret of a bearer token of
  the person (`token_id`, label `web sign-in`, expiring with the session), so a session
  has exactly the role and scope her tokens have (`clubfund_authenticate`); the row keeps
  the form token (CSRF) and when the session ended (signing out revokes the token too).
- `clubfund_person_by_phone`: the person with this phone number, read before anyone is
  signed in (people are under row-level security).

Revision ID: 2026_11_30_web_sessions
Revises: 2026_11_30_corrections
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_web_sessions"
down_revision = "2026_11_30_loan_allocations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE web_credentials (
        person_id               uuid        NOT NULL,
        pin_hash                text,
        setup_code_hash         text,
        setup_code_expires_at   timestamptz,
        failed_attempts_count   integer     NOT NULL,
        locked_until            timestamptz,
        updated_at              timestamptz NOT NULL,
        CONSTRAINT pk_web_credentials PRIMARY KEY (person_id),
        CONSTRAINT fk_web_credentials_person_id_people
            FOREIGN KEY (person_id) REFERENCES people (id),
        CONSTRAINT ck_web_credentials_failed_attempts_count
            CHECK (failed_attempts_count BETWEEN 0 AND 1000),
        CONSTRAINT ck_web_credentials_setup_code
            CHECK ((setup_code_hash IS NULL) = (setup_code_expires_at IS NULL))
    );

    CREATE TABLE web_sessions (
        id          uuid        NOT NULL,
        token_id    text        NOT NULL,
        person_id   uuid        NOT NULL,
        csrf_token  text        NOT NULL,
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz NOT NULL,
        ended_at    timestamptz,
        CONSTRAINT pk_web_sessions PRIMARY KEY (id),
        CONSTRAINT uq_web_sessions_token_id UNIQUE (token_id),
        CONSTRAINT fk_web_sessions_token_id_tokens FOREIGN KEY (token_id) REFERENCES tokens (id),
        CONSTRAINT fk_web_sessions_person_id_people
            FOREIGN KEY (person_id) REFERENCES people (id),
        CONSTRAINT ck_web_sessions_csrf_token CHECK (length(csrf_token) BETWEEN 32 AND 100)
    );
    CREATE INDEX ix_web_sessions_person_id ON web_sessions (person_id);

    GRANT SELECT, INSERT, UPDATE ON web_credentials TO clubfund_app;
    GRANT SELECT, INSERT, UPDATE ON web_sessions TO clubfund_app;

    CREATE FUNCTION clubfund_person_by_phone(presented_phone text)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
        SELECT p.id FROM people p WHERE p.phone = presented_phone
    $$;
    REVOKE ALL ON FUNCTION clubfund_person_by_phone(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION clubfund_person_by_phone(text) TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION clubfund_person_by_phone(text);
    DROP TABLE web_sessions;
    DROP TABLE web_credentials;
    """)
