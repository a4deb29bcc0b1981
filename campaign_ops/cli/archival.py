"""`campaign-ops` commands of archival."""

import click

commands: list[click.Command] = []
