"""The command line's lazy map: every entry is the command it names, and a command imports only its own module."""

import subprocess
import sys

import click

from campaign_ops.cli import LAZY_COMMANDS, main


def test_every_entry_resolves_to_the_command_of_that_name() -> None:
    ctx = click.Context(main)
    resolved = {name: main.get_command(ctx, name) for name in LAZY_COMMANDS}
    assert {name: command.name if command else None for name, command in resolved.items()} == {
        name: name for name in LAZY_COMMANDS
    }
    assert main.get_command(ctx, "no-such-command") is None


def test_a_command_imports_only_its_own_module() -> None:
    probe = (
        "import sys; from campaign_ops.cli import main; import click;"
        "main.get_command(click.Context(main), 'de-enroll');"
        "print(' '.join(sorted(sys.modules)))"
    )
    probed = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    loaded = set(probed.stdout.split())
    command_modules = {target.split(":")[0] for target in LAZY_COMMANDS.values()}
    assert command_modules & loaded == {"campaign_ops.cli.de_enrollment"}
