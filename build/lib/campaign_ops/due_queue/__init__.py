"""Event-driven de-enrollment: the trigger-kept queue of due leads, its sensor and the due -> de-enrolled latency."""
