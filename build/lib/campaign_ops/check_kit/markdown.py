"""Markdown tables: what the Dagster UI renders in metadata and the terminal prints as is."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

# rows of a table the Dagster UI shows, the worst first: one screen. What is stored with every run stays small
# however many clients a table could list; a JSON entry beside the table keeps them all.
UI_TABLE_ROWS = 50


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.2f}"
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)


def first_rows(table: str, max_rows: int, rest: str = "") -> str:
    """`table` (as `markdown_table` writes it: a row per line) cut to its first `max_rows` rows, then a line saying
    how many were left out and, in `rest`, where to read them. Metadata is stored with every run (a check's
    evaluation twice): a thousand clients in every table would cost ~100 KB an evaluation, every five minutes, for
    a table nobody reads past its first screen."""
    lines = table.split("\n")
    left_out = len(lines) - 2 - max_rows
    if left_out <= 0:
        return table
    note = f"*… and {left_out:,} more row{'s' if left_out != 1 else ''}, not shown here{rest}*"
    return "\n".join([*lines[: 2 + max_rows], "", note])
