"""`campaign-ops` commands of reconciliation."""

import click

commands: list[click.Command] = []
