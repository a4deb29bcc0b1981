"""0044: messages sent after revocation recorded by a trigger on leads, as they happen."""

from alembic import op

from campaign_ops.db.migrations import apply_sql_revision, rollback_sql_revision

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql_revision(op.get_bind(), revision)


def downgrade() -> None:
    rollback_sql_revision(op.get_bind(), revision)
