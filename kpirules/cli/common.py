"""What the commands share: exit codes, the data options, loading a policy or exiting,
evaluating with a progress bar and every failure turned into a message."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console

from kpirules.api import check_unit
from kpirules.diagnostics import render_text
from kpirules.paths import OutsideRoot, output_path
from kpirules.text import SafeConsole, neutralise

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# Options that the evaluating commands share.
_data_option = click.option(
    "--data",
    "data_path",
    required=True,
    metavar="BINDING",
    help="The data binding (data.yaml), or a folder with one file per source.",
)
_as_of_option = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date the staleness check compares with (default: today).",
)


class OutputPath(click.Path):
    """The type of every output option (`-o FILE`, `-o DIR`, `--record DIR`): click.Path,
    plus the project-root rule — a path that is, or lies in, a symbolic link leading
    outside its project root is a usage error (exit 2), before anything is evaluated."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        try:
            output_path(value)
        except OutsideRoot as exc:
            self.fail(str(exc), param, ctx)
        return value


def load_policy_or_exit(policy_path: str):
    """The checked policy, or its diagnostics on stderr and exit 1."""
    unit, policy, diagnostics = check_unit(policy_path)
    if policy is None:
        for diagnostic in diagnostics:
            echo(render_text(diagnostic, unit.sources), err=True)
        sys.exit(EXIT_FINDINGS)
    return policy


def load_data_or_exit(policy, data_path, as_of: date | None, *, blocked_ok: bool = False):
    """The data, loaded and checked once (for commands that read the frames as well as
    evaluate them); problems reading it are printed, exit 1. So is data that
    data-quality errors block, unless the caller reports the findings itself."""
    from kpirules.data import DataError, load_data

    try:
        loaded = load_data(policy, data_path, as_of=as_of)
    except DataError as exc:
        for problem in exc.problems:
            echo(f"kpirules: {problem}", err=True)
        sys.exit(EXIT_FINDINGS)
    if loaded.blocked and not blocked_ok:
        echo("kpirules: data-quality errors stopped the run; see `kpirules eval`", err=True)
        sys.exit(EXIT_FINDINGS)
    return loaded


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """The commands' plain-text writer: click.echo, with control characters from policies
    and data neutralised (kpirules.text) so nothing reaches the terminal raw."""
    click.echo(neutralise(str(message)), err=err, nl=nl)


def emit(text: str, target: Path | None, *, announce: bool = False) -> None:
    """Text to standard output, or to the file `target` (saying so with `announce`);
    neutralised like `echo` (a no-op on JSON, which `kpirules.text.to_json` escapes)."""
    text = neutralise(text)
    if target is None:
        click.echo(text, nl=False)
        return
    target.write_text(text, encoding="utf-8")
    if announce:
        echo(f"wrote {target}", err=True)


def evaluate_or_exit(policy, data_path, period: str | None, as_of: date | None, **options):
    """Evaluate with a progress bar; data or period problems are printed, exit 1."""
    from kpirules.data import DataError
    from kpirules.engine import EvaluationError, evaluate

    try:
        with _progress(SafeConsole(stderr=True)) as advance:
            return evaluate(policy, data_path, period, as_of=as_of, progress=advance, **options)
    except DataError as exc:
        for problem in exc.problems:
            echo(f"kpirules: {problem}", err=True)
    except EvaluationError as exc:
        echo(f"kpirules: {exc}", err=True)
    sys.exit(EXIT_FINDINGS)


class _progress:
    """A progress bar on an interactive terminal; silent otherwise."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = None

    def __enter__(self):
        if not self.console.is_terminal:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("evaluating"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("evaluate", total=1)

        def advance(done: int, total: int) -> None:
            self.bar.update(task, completed=done, total=total)

        return advance

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
