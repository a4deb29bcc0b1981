"""`campaign-ops` commands of alerts."""

import click

commands: list[click.Command] = []
