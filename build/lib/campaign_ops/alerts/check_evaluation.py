"""An asset check evaluation as the alert sensor read it from the event log, and the reading of its metadata
(figures, the thresholds it judged by, the clients it names).

Pure: Dagster metadata values in, plain values out.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg

from campaign_ops.alerts.rendering import format_utc_seconds
from campaign_ops.check_kit.remedies import FINDINGS_METADATA, THRESHOLDS_METADATA
from campaign_ops.clients.partition_keys import client_id_or_none

_NUMERIC_METADATA = (dg.IntMetadataValue, dg.FloatMetadataValue, dg.BoolMetadataValue)

Names = Mapping[str, str]
"""Company names by client id."""


@dataclass(frozen=True)
class Evaluation:
    """One asset check evaluation, as the alert sensor read it from the event log."""

    check: str
    asset: str
    passed: bool
    severity: str
    """WARN or ERROR (the check's severity when it did not pass)."""
    description: str | None
    metadata: Mapping[str, Any]
    """Dagster metadata values, by name."""
    covered: frozenset[str] | None
    """The clients it judged (client ids; partition keys that name no client); None: every active client."""
    where_key: str
    """The key of an alert about the evaluation as a whole: `all`, or its one client (or partition)."""
    run_id: str
    """Empty for an evaluation recorded without a run."""
    at: datetime
    link: str
    """The check in the UI."""

    @property
    def run_text(self) -> str:
        """The run that recorded it, or that none did (a check sensor evaluates in its own tick)."""
        return self.run_id or "none (evaluated by a check sensor)"

    @property
    def could_not_run(self) -> bool:
        return not self.passed and "error" in self.metadata


def metadata_value(metadata: Mapping[str, Any], name: str) -> Any:
    value = metadata.get(name)
    return getattr(value, "value", value)


def lines_of(evaluation: Evaluation) -> dict[str, Any]:
    """The thresholds the evaluation judged by, as it published them (empty when it did not)."""
    lines = metadata_value(evaluation.metadata, THRESHOLDS_METADATA)
    return lines if isinstance(lines, dict) else {}


def check_facts(metadata: Mapping[str, Any], limit: int = 6) -> list[tuple[str, str]]:
    """The figures of a check evaluation's metadata: numbers first, then short texts (tables are left to the UI)."""
    numbers = [(k, v) for k, v in metadata.items() if isinstance(v, _NUMERIC_METADATA)]
    texts = [(k, v) for k, v in metadata.items() if isinstance(v, dg.TextMetadataValue) and len(v.value or "") <= 200]
    return [(key, number_text(value.value)) for key, value in (numbers + texts)[:limit]]


def number_text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return str(raw)
    return f"{raw:,.2f}" if isinstance(raw, float) else f"{raw:,}"


def metadata_text(value: Any) -> str | None:
    """The text of a metadata value (text or URL), None when absent."""
    raw = getattr(value, "value", None) if value is not None else None
    return str(raw) if raw else None


def iso_text(value: Any) -> str:
    """A published ISO timestamp as a UTC moment; as it came when it is not one."""
    try:
        return format_utc_seconds(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def clients_of(evaluations: Iterable[Evaluation]) -> list[str]:
    """Every client id the evaluations name (their scope, their findings): their names are looked up at once."""
    found: set[str] = set()
    for evaluation in evaluations:
        found.update(c for c in evaluation.covered or () if client_id_or_none(c))
        findings = metadata_value(evaluation.metadata, FINDINGS_METADATA)
        if isinstance(findings, dict):
            for finding in findings.values():
                if isinstance(finding, dict) and (c := client_id_or_none(str(finding.get("client_id") or ""))):
                    found.add(c)
    return sorted(found)
