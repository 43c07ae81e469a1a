"""The province's plan targets: per area and year, how many new clubs and members
(and optionally the seed fund each should get), with the plan's reference.

One row per area and year; setting a target again replaces it (the service-wide
audit log keeps every version). Reference data like areas: no row-level security.

Revision ID: 2026_11_30_programme_targets
Revises: 2026_11_23_daily_group_balances
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_programme_targets"
down_revision = "2026_11_30_guards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE programme_targets (
        area_code      text        NOT NULL,
        year           integer     NOT NULL,
        new_clubs      integer     NOT NULL,
        members        integer     NOT NULL,
        fund_size      bigint,
        currency       char(3)     NOT NULL,
        plan_reference text        NOT NULL,
        set_by         text        NOT NULL,
        set_at         timestamptz NOT NULL,
        CONSTRAINT pk_programme_targets PRIMARY KEY (area_code, year),
        CONSTRAINT fk_programme_targets_area_code_areas
            FOREIGN KEY (area_code) REFERENCES areas (code),
        CONSTRAINT ck_programme_targets_year CHECK (year BETWEEN 2000 AND 2100),
        CONSTRAINT ck_programme_targets_counts CHECK (new_clubs >= 0 AND members >= 0),
        CONSTRAINT ck_programme_targets_fund_size CHECK (fund_size IS NULL OR fund_size >= 0)
    );

    GRANT SELECT, INSERT ON programme_targets TO clubfund_app;
    GRANT UPDATE (new_clubs, members, fund_size, currency, plan_reference, set_by, set_at)
        ON programme_targets TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("DROP TABLE programme_targets;")
