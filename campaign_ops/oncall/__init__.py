"""On call: the alert pipeline watching itself (heartbeat), and root causes holding other alerts back."""
