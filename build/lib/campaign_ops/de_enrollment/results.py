"""What a de-enrollment sweep reports: each client's pass as recorded in de_enrollment_runs, and the sweep's sum."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["success", "partial", "failed", "skipped"]
# the order a run's table lists its clients in: what needs someone first
STATUS_ORDER: dict[str, int] = {"failed": 0, "partial": 1, "skipped": 2, "success": 3}


@dataclass
class ClientResult:
    """One client's pass, as recorded in de_enrollment_runs."""

    client_id: str
    client_name: str
    status: Status
    run_row_id: str | None = None
    leads_evaluated: int = 0
    leads_de_enrolled: int = 0
    completed: int = 0
    opted_out: int = 0
    booked: int = 0
    leads_skipped: int = 0
    already_de_enrolled: int = 0  # of leads_skipped: due again, enrollment already de-enrolled (`skipped` rows)
    chunks: int = 0
    duration_ms: int = 0
    error_details: str | None = None
    connection_lost: bool = False


@dataclass
class SweepResult:
    clients: list[ClientResult] = field(default_factory=list)
    duration_ms: int = 0
    # set when the database connection was lost: the one line that names it; the sweep stopped there
    connection_lost: str | None = None
    not_reached: list[str] = field(default_factory=list)  # client ids left untried after a connection loss

    def with_status(self, *statuses: Status) -> list[ClientResult]:
        return [c for c in self.clients if c.status in statuses]

    @property
    def failed(self) -> list[ClientResult]:
        return self.with_status("failed")

    @property
    def leads_de_enrolled(self) -> int:
        return sum(c.leads_de_enrolled for c in self.clients)


ProgressCallback = Callable[[ClientResult], None]
LogCallback = Callable[[str], None]
