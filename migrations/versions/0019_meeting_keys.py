"""The meeting page's keys belong to the person, not to one web session: a stored answer
is visible to its caller's token (`principal_id` = the token's id, as before) and also,
when it was stored under `person:<the caller's person id>`, to every token of that
person. The meeting page stores its records' answers under the person (see
service/pages/meeting_pages.py), so a queue sent again after she signed in anew replays
instead of writing twice; another person still sees none of them.

Revision ID: 2026_11_30_meeting_keys
Revises: 2026_11_30_member_updates
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_meeting_keys"
down_revision = "2026_11_30_member_updates"
branch_labels = None
depends_on = None


# The caller's token; with the person too, `person:<her id>` (the meeting page's keys).
TOKEN_OWNS = "principal_id = (SELECT current_setting(''clubfund.principal_id'', true))"
PERSON_OWNS = "principal_id = ''person:'' || (SELECT current_setting(''clubfund.person_id'', true))"


def principal_scope(owner: str) -> str:
    """Replace the policy on stored answers: visible to `owner`, in the funds in scope."""
    return f"""
    DROP POLICY principal_scope ON idempotency_records;
    DO $$
    DECLARE
        predicate text := format(
            '({owner}) AND (fund_id = ''00000000-0000-0000-0000-000000000000'' OR %s)',
            clubfund_fund_scope_predicate('fund_id'));
    BEGIN
        EXECUTE format('CREATE POLICY principal_scope ON idempotency_records'
                       ' USING (%1$s) WITH CHECK (%1$s)', predicate);
    END $$;
    """


def upgrade() -> None:
    execute_script(principal_scope(f"{TOKEN_OWNS} OR {PERSON_OWNS}"))


def downgrade() -> None:
    execute_script(principal_scope(TOKEN_OWNS))
