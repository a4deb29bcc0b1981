"""0026: client onboarding pipeline states, onboarding_states, client payment and phone, number pool."""

from alembic import op

from campaign_ops.db.migrations import apply_sql_revision, rollback_sql_revision

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql_revision(op.get_bind(), revision)


def downgrade() -> None:
    rollback_sql_revision(op.get_bind(), revision)
