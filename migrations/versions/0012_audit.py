"""Witness cosignatures of each fund's checkpoints.

`audit_cosignatures`: one row per checkpoint a witness cosigned (C2SP
tlog-cosignature), with the signature line exactly as the witness returned it.
The service serves them on the checkpoint, after checking each against the
witness's key. Append-only like the rest of the audit log; the service role may
only SELECT and INSERT; fund-scope row-level security as on every audit table.

Revision ID: 2026_11_30_audit
Revises: 2026_11_23_daily_group_balances
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_audit"
down_revision = "2026_11_30_programme_targets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE audit_cosignatures (
        fund_id        uuid   NOT NULL,
        tree_size      bigint NOT NULL,
        witness_key    text   NOT NULL,
        signature_line text   NOT NULL,
        CONSTRAINT pk_audit_cosignatures PRIMARY KEY (fund_id, witness_key, tree_size),
        CONSTRAINT ck_audit_cosignatures_tree_size CHECK (tree_size >= 1)
    );

    CREATE TRIGGER trg_audit_cosignatures_append_only BEFORE UPDATE OR DELETE
        ON audit_cosignatures FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();

    SELECT clubfund_protect_fund_table('audit_cosignatures');

    GRANT SELECT, INSERT ON audit_cosignatures TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE audit_cosignatures;
    """)
