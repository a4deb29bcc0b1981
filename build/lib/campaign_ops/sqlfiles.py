"""Load the .sql files that live beside the code that runs them."""

from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, text


@cache
def load_sql(module_file: str, name: str) -> TextClause:
    """Return the statement in `name` (a .sql file in the folder of `module_file`) as a bound-parameter text."""
    return text((Path(module_file).parent / name).read_text())
