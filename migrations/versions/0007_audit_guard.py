"""the audit trail refuses TRUNCATE, and its head only moves forward

Revision ID: 0007
Revises: 0006_clock
Create Date: 2026-11-23

0001 made audit rows refuse UPDATE and DELETE. Two ways round that remained: TRUNCATE (it fires
no row trigger on PostgreSQL) and resetting ``audithead``, after which an emptied trail verified
as ok. Now TRUNCATE is refused and the head's ``seq`` can only grow; neither can be deleted.
A database superuser can still drop the triggers: the hashes carried by webhook events let a
receiver detect that from outside.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006_clock'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION greenlane_audit_append_only()"
        )
        op.execute(
            """
            CREATE FUNCTION greenlane_audit_head_forward() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'audithead only moves forward: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audithead_forward BEFORE UPDATE OR DELETE ON audithead "
            "FOR EACH ROW EXECUTE FUNCTION greenlane_audit_head_forward()"
        )
        op.execute(
            "CREATE TRIGGER audithead_no_truncate BEFORE TRUNCATE ON audithead "
            "FOR EACH STATEMENT EXECUTE FUNCTION greenlane_audit_head_forward()"
        )
    else:  # SQLite has no TRUNCATE: its DELETE without WHERE runs the row triggers
        op.execute(
            "CREATE TRIGGER audithead_forward BEFORE UPDATE ON audithead "
            "WHEN NEW.seq <= OLD.seq OR NEW.id != OLD.id "
            "BEGIN SELECT RAISE(ABORT, 'audithead only moves forward: UPDATE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audithead_no_delete BEFORE DELETE ON audithead "
            "BEGIN SELECT RAISE(ABORT, 'audithead only moves forward: DELETE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audithead_no_truncate ON audithead")
        op.execute("DROP TRIGGER IF EXISTS audithead_forward ON audithead")
        op.execute("DROP FUNCTION IF EXISTS greenlane_audit_head_forward()")
        op.execute("DROP TRIGGER IF EXISTS auditevent_no_truncate ON auditevent")
    else:
        op.execute("DROP TRIGGER IF EXISTS audithead_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audithead_forward")
