# The alert tests' real-HTTP Slack, Twilio, clock and resources, shared (the same fixtures, not copies).
from campaign_ops_tests.alerts.conftest import (  # noqa: F401
    clock,
    database,
    instance,
    slack,
    slack_alerts,
    twilio,
)
