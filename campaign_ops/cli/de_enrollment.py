"""`campaign-ops` commands of de-enrollment."""

import click

commands: list[click.Command] = []
