"""0041: the pause of all processing is a row of processing_pauses, enforced by triggers on what campaign-ops writes."""

from alembic import op

from campaign_ops.db.migrations import apply_sql_revision, rollback_sql_revision

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql_revision(op.get_bind(), revision)


def downgrade() -> None:
    rollback_sql_revision(op.get_bind(), revision)
