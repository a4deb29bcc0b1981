"""How a de-enrollment run is sized: the SOP's batch size, runtime budget and chunk size, from the environment,
run config or CLI options."""

import os
from dataclasses import dataclass
from typing import Literal

from campaign_ops.db import INT4_MAX
from campaign_ops.errors import ConfigError

Mode = Literal["set_based", "batched"]

DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_RUNTIME_MS = 240_000
DEFAULT_CHUNK_SIZE = 50_000


@dataclass(frozen=True)
class DeEnrollmentSettings:
    """How a de-enrollment run works. Environment: DE_ENROLLMENT_BATCH_SIZE, DE_ENROLLMENT_MAX_RUNTIME (ms),
    DE_ENROLLMENT_CHUNK_SIZE, as the SOP names them; run config and CLI options override them."""

    batch_size: int = DEFAULT_BATCH_SIZE  # leads per transaction on the SOP's batched path
    max_runtime_ms: int = DEFAULT_MAX_RUNTIME_MS  # budget of a whole run, all clients together
    chunk_size: int = DEFAULT_CHUNK_SIZE  # leads per transaction on the set-based path
    mode: Mode = "set_based"

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_runtime_ms", "chunk_size"):
            value = getattr(self, name)
            # at most PostgreSQL's integer: the sizes are LIMITs and the budget becomes statement_timeout (ms)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            if value > INT4_MAX:
                raise ConfigError(f"{name} must be at most {INT4_MAX}, got {value}")
        if self.mode not in ("set_based", "batched"):
            raise ConfigError(f"mode must be 'set_based' or 'batched', got {self.mode!r}")

    @classmethod
    def from_env(cls, **overrides: object) -> "DeEnrollmentSettings":
        """Defaults, then the SOP's environment variables, then non-None overrides."""
        values: dict[str, object] = {}
        for name, env in (
            ("batch_size", "DE_ENROLLMENT_BATCH_SIZE"),
            ("max_runtime_ms", "DE_ENROLLMENT_MAX_RUNTIME"),
            ("chunk_size", "DE_ENROLLMENT_CHUNK_SIZE"),
        ):
            raw = os.environ.get(env)
            if raw is not None and raw.strip():
                # ASCII digits only: int() also takes '２', '1_000' and thousands of digits
                digits = raw.strip()
                if not (digits.isascii() and digits.isdigit()):
                    raise ConfigError(f"{env} must be an integer, got {raw!r}")
                if len(digits) > 10 or not 0 < int(digits) <= INT4_MAX:
                    raise ConfigError(f"{env} must be an integer from 1 to {INT4_MAX}, got {raw!r}")
                values[name] = int(digits)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
