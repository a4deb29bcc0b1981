"""Dagster objects of de-enrollment: assembled into the code location by campaign_ops/definitions.py."""

import dagster as dg

defs = dg.Definitions()
