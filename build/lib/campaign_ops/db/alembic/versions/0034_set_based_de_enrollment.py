"""0034: de-enrollment of many clients in one statement, counters moved incrementally, index of running passes."""

from alembic import op

from campaign_ops.db.migrations import apply_sql_revision, rollback_sql_revision

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql_revision(op.get_bind(), revision)


def downgrade() -> None:
    rollback_sql_revision(op.get_bind(), revision)
