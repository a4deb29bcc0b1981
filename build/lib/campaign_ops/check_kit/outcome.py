"""What every check returns to its callers (Dagster metadata, CLI lines, alerts): a level, a summary, figures and
tables."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    PASSED = "passed"
    WARN = "warn"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"passed": 0, "warn": 1, "error": 2}[self.value]

    @property
    def icon(self) -> str:
        return {"passed": "✅", "warn": "⚠️", "error": "❌"}[self.value]


def worst(levels: Sequence[Level]) -> Level:
    return max(levels, key=lambda level: level.rank, default=Level.PASSED)


def level_for(value: float, *, warn_above: float, error_above: float) -> Level:
    """ERROR when value > error_above, WARN when value > warn_above, else PASSED (boundaries pass)."""
    if value > error_above:
        return Level.ERROR
    if value > warn_above:
        return Level.WARN
    return Level.PASSED


Figures = dict[str, int | float]


class CheckOutcome:
    """What every check result offers its callers (Dagster metadata, CLI lines, alerts)."""

    name: str

    @property
    def level(self) -> Level:
        raise NotImplementedError

    @property
    def summary(self) -> str:
        raise NotImplementedError

    def figures(self) -> Figures:
        """Numeric figures: the UI plots each one's trend across evaluations."""
        raise NotImplementedError

    def tables(self) -> dict[str, str]:
        """Markdown tables for the UI and the terminal."""
        return {}

    def client_findings(self) -> dict[str, dict[str, Any]]:
        """Per client with a finding: its figures and level (what a sweep's one evaluation says per client)."""
        return {}
