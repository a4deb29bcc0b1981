"""The documentation stays short and true: the front page and the benchmarks fit in a few minutes' reading, and
every command, Dagster name and migration the docs mention exists."""

import re
from pathlib import Path

import click
import pytest

from campaign_ops.cli import main
from campaign_ops.db.migrations import SQL_DIR
from campaign_ops_tests.test_operator_names import operator_names

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "deploy" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# names of Dagster definitions as the docs write them: `de_enrollment_sweep_job`, `alerting_checks_sensor`, …
DAGSTER_NAME = re.compile(r"`([a-z][a-z0-9_]*_(?:job|schedule|sensor))`")
# the command, not the Helm release of the same name (`helm upgrade --install campaign-ops dagster/dagster`)
COMMAND = re.compile(r"(?<!install )campaign-ops((?: [a-z][a-z-]*)+)")
# prose names the project too ("campaign-ops keeps …"): there only a command in backticks counts
PROSE_COMMAND = re.compile(r"`campaign-ops((?: [a-z][a-z-]*)+)")
MIGRATION = re.compile(r"\bsql/(\d{4})\b")
OBJECT_FILE = re.compile(r"\bsql/(objects/[a-z0-9_]+\.sql)\b")


def _text() -> str:
    return "\n".join(path.read_text() for path in DOCS)


@pytest.mark.parametrize(("name", "limit"), [("README.md", 12_000), ("BENCHMARKS.md", 15_000)])
def test_front_pages_stay_short(name: str, limit: int) -> None:
    assert len((ROOT / name).read_bytes()) <= limit


def test_every_dagster_name_in_the_docs_is_defined() -> None:
    defined = {line.split(" ")[1].split(":")[0] for line in operator_names()}
    mentioned = set(DAGSTER_NAME.findall(_text()))
    assert mentioned, "the docs name no job, schedule or sensor: the pattern is wrong"
    assert sorted(mentioned - defined) == []


def _resolves(words: list[str]) -> bool:
    """True when click resolves the words to a command (as far as they are subcommand names)."""
    ctx = click.Context(main)
    command: click.Command = main
    for word in words:
        if not isinstance(command, click.Group):
            return True  # the rest are the command's arguments
        sub = command.get_command(ctx, word)
        if sub is None:
            return False
        command = sub
    return True


def test_every_command_in_the_docs_exists() -> None:
    mentioned: set[str] = set()
    for number, part in enumerate(_text().split("```")):
        in_code_block = number % 2 == 1
        mentioned |= {m.strip() for m in (COMMAND if in_code_block else PROSE_COMMAND).findall(part)}
    assert len(mentioned) > 10, "the pattern finds too few commands to mean anything"
    assert sorted(words for words in mentioned if not _resolves(words.split())) == []


def test_every_migration_the_docs_name_exists() -> None:
    existing = {path.name[:4] for path in SQL_DIR.glob("*.sql")}
    assert sorted(set(MIGRATION.findall(_text())) - existing) == []
    objects = set(OBJECT_FILE.findall(_text()))
    assert objects, "the docs name no function, view or trigger file: the pattern means nothing"
    assert sorted(name for name in objects if not (SQL_DIR / name).exists()) == []
