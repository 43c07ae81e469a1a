"""Areas (with a parent relation valid over time), clubs, and the club a fund belongs to.

Areas and clubs are small reference data (replicated, not distributed, under
Citus). A fund may belong to a club (its income fund, or an activities fund) or
to nobody (a bare ledger for integrators and tests).

Revision ID: 2026_11_23_areas_clubs
Revises: 2026_11_23_foundation
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_areas_clubs"
down_revision = "2026_11_23_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE areas (
        code       text        NOT NULL,
        name       text        NOT NULL,
        level      text        NOT NULL,
        valid_from date        NOT NULL,
        valid_to   date,
        created_at timestamptz NOT NULL,
        CONSTRAINT pk_areas PRIMARY KEY (code),
        CONSTRAINT ck_areas_level CHECK (level IN ('province', 'district', 'commune')),
        CONSTRAINT ck_areas_validity CHECK (valid_to IS NULL OR valid_to > valid_from)
    );

    -- Which area an area belongs to, from valid_from (inclusive) to valid_to
    -- (exclusive). A reorganisation closes one row and opens another, so
    -- reports as of a date walk the tree that was valid then.
    CREATE TABLE area_parents (
        code        text NOT NULL,
        valid_from  date NOT NULL,
        parent_code text,
        valid_to    date,
        CONSTRAINT pk_area_parents PRIMARY KEY (code, valid_from),
        CONSTRAINT fk_area_parents_code_areas FOREIGN KEY (code) REFERENCES areas (code),
        CONSTRAINT fk_area_parents_parent_code_areas
            FOREIGN KEY (parent_code) REFERENCES areas (code),
        CONSTRAINT ck_area_parents_validity CHECK (valid_to IS NULL OR valid_to > valid_from)
    );
    CREATE INDEX ix_area_parents_parent_code ON area_parents (parent_code);

    CREATE TABLE clubs (
        id         uuid        NOT NULL,
        name       text        NOT NULL,
        area_code  text        NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT pk_clubs PRIMARY KEY (id),
        CONSTRAINT fk_clubs_area_code_areas FOREIGN KEY (area_code) REFERENCES areas (code),
        CONSTRAINT ck_clubs_name CHECK (length(name) BETWEEN 1 AND 200)
    );
    CREATE INDEX ix_clubs_area_code ON clubs (area_code);

    ALTER TABLE funds ADD COLUMN club_id uuid;
    ALTER TABLE funds ADD CONSTRAINT fk_funds_club_id_clubs
        FOREIGN KEY (club_id) REFERENCES clubs (id);
    CREATE INDEX ix_funds_club_id ON funds (club_id);

    GRANT SELECT, INSERT ON areas, area_parents, clubs TO clubfund_app;
    GRANT UPDATE (valid_to) ON areas, area_parents TO clubfund_app;
    GRANT UPDATE (name, area_code) ON clubs TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP INDEX ix_funds_club_id;
    ALTER TABLE funds DROP CONSTRAINT fk_funds_club_id_clubs;
    ALTER TABLE funds DROP COLUMN club_id;
    DROP TABLE clubs, area_parents, areas;
    """)
