"""0045: an opt-out ends every active enrollment of the person with the client; leads found by phone or email."""

from alembic import op

from campaign_ops.db.migrations import apply_sql_revision, rollback_sql_revision

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql_revision(op.get_bind(), revision)


def downgrade() -> None:
    rollback_sql_revision(op.get_bind(), revision)
