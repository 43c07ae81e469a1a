"""A member's details can be corrected: the service may update her name, gender, birth
year and joining date (it could update only her status). Each change is audit-logged by
the service (`member.updated`); row-level security keeps it to the caller's club.

Revision ID: 2026_11_30_member_updates
Revises: 2026_11_30_loan_money
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_member_updates"
down_revision = "2026_11_30_loan_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    GRANT UPDATE (name, gender, birth_year, joined_on) ON members TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    REVOKE UPDATE (name, gender, birth_year, joined_on) ON members FROM clubfund_app;
    """)
