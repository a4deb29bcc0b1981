"""Alembic environment: one transaction, under an advisory lock, with the server version checked, applied-file
checksums verified, and the replaceable objects re-applied where their files changed."""

from alembic import context
from sqlalchemy import text

from campaign_ops.db.engine import connect, make_engine
from campaign_ops.db.migrations import (
    MIGRATION_LOCK_KEY,
    adopt_folded_history,
    apply_objects,
    check_server_version,
    drop_bookkeeping,
    ensure_changes_table,
    ensure_checksum_table,
    objects_installed,
    server_version_num,
    verify_checksums,
)

# without the per-session server settings: a server too old for them must still reach the version check below
engine = make_engine(context.config.attributes["url"], pooled=False, server_keepalives=False)
with connect(engine) as connection, connection.begin():
    # A second upgrade started at the same time waits here, then finds nothing left to apply.
    check_server_version(server_version_num(connection))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    ensure_checksum_table(connection)
    ensure_changes_table(connection)
    adopt_folded_history(connection)
    verify_checksums(connection)
    applied: list[str] = context.config.attributes.setdefault("applied", [])
    context.configure(
        connection=connection,
        transactional_ddl=True,
        transaction_per_migration=False,
        on_version_apply=lambda *, step, **_: applied.append(
            step.up_revision_id if step.is_upgrade else step.down_revision_ids[0] if step.down_revision_ids else "base"
        ),
    )
    with context.begin_transaction():
        context.run_migrations()
        downgrade_to = context.config.attributes.get("downgrade_to")
        if downgrade_to == "base":
            drop_bookkeeping(connection)
        elif downgrade_to is None and objects_installed(connection):
            context.config.attributes["objects"] = apply_objects(connection)
engine.dispose()
