"""`kpirules tui`: review a cycle's outcomes in a terminal UI (Textual, imported only here)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kpirules.cli.common import EXIT_USAGE, _as_of_option, _data_option, echo


@click.command("tui")
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option(
    "--period",
    help="Open at this period (e.g. 2026-Q3); the periods before it can be switched to. "
    "Default: every period of the policy, opening at the latest one with results.",
)
@click.option(
    "--screen",
    type=click.Choice(["overview", "cascade", "people", "actions"]),
    default="overview",
    show_default=True,
    help="The screen to open on.",
)
@_as_of_option
def tui(policy_path: str, data_path: str, period: str | None, screen: str, as_of) -> None:
    """Review outcomes in a terminal UI: overview, cascade, people, person, actions."""
    if not Path(policy_path).exists():
        raise click.UsageError(f"no such file or folder: {policy_path!r}")
    if not sys.stdout.isatty():
        echo("kpirules: tui needs an interactive terminal", err=True)
        sys.exit(EXIT_USAGE)
    from kpirules.tui.app import ReviewApp

    app = ReviewApp(
        policy_path, data_path, period, as_of=as_of.date() if as_of else None, start=screen
    )
    app.run()
    sys.exit(app.return_code or 0)
