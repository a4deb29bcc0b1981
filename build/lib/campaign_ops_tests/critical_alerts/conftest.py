# The alert tests' real-HTTP Slack, clock and resources, shared (the same fixtures, not copies).
from campaign_ops_tests.alerts.conftest import clock, database, instance, slack, slack_alerts  # noqa: F401
