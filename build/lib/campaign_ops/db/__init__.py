"""Database access: URLs, engines, the embedded server, migrations, schema verification."""

# PostgreSQL's `integer`; also the largest statement_timeout / lock_timeout, in ms
INT4_MAX = 2_147_483_647
