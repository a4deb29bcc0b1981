"""Strict click parameter types shared by the commands.

click's INT is Python's int(), which also takes fullwidth and other scripts' digits (`２`), underscores (`1_000`)
and thousands of digits (until Python's own limit raises): an operator's typo must not become a number. These
take ASCII digits only, within PostgreSQL's `integer` (the columns and settings the values end in).
"""

import click

from campaign_ops.db import INT4_MAX

MAX_DAYS = 36_500  # a hundred years: any retention or age beyond is a typo
MAX_HOURS = 24 * MAX_DAYS


class StrictIntRange(click.IntRange):
    """click.IntRange over ASCII digits only (an optional leading minus), at most 19 digits (bigint)."""

    name = "integer"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return super().convert(value, param, ctx)
        text = str(value).strip()
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
            self.fail(f"{value!r} is not a whole number (ASCII digits)", param, ctx)
        return super().convert(int(text), param, ctx)


def positive_int(maximum: int = INT4_MAX) -> StrictIntRange:
    return StrictIntRange(min=1, max=maximum)


def bounded_int(maximum: int = INT4_MAX) -> StrictIntRange:
    """An upper bound only: the core refuses zero and negatives itself, with its own message."""
    return StrictIntRange(max=maximum)


class NonBlank(click.ParamType):
    """A string that is not empty or only spaces: an empty --client-id is a mistake, never 'all clients'."""

    name = "text"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            self.fail("must not be empty (leave the option out instead)", param, ctx)
        return text.strip()


NON_BLANK = NonBlank()
