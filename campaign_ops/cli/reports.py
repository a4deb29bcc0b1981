"""`campaign-ops` commands of reports."""

import click

commands: list[click.Command] = []
