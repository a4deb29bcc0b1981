"""campaign-ops: keeps a multi-client outreach platform's lead data correct, orchestrated by Dagster."""
