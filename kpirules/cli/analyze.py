"""`kpirules analyze`: comparison, trend, root cause, drill-down and calibration for a
subject, a department or everyone."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kpirules.cli.common import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    OutputPath,
    _as_of_option,
    _data_option,
    echo,
    emit,
    evaluate_or_exit,
    load_data_or_exit,
    load_policy_or_exit,
)
from kpirules.text import SafeConsole


def _pair(value: str | None, option: str) -> tuple[str, str] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise click.UsageError(
            f"{option} takes two names separated by a comma, e.g. total,order_cycle"
        )
    return parts[0], parts[1]


def _cuts(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(part) for part in value.split(","))
    except ValueError:
        raise click.UsageError(
            f"--cuts takes two numbers LOW,HIGH, e.g. 75,125 (got {value!r})"
        ) from None
    if not low < high:
        raise click.UsageError(f"--cuts: {low:g} must be below {high:g}")
    return low, high


@click.command("analyze")
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option("--subject", help="Analyse one person (a roster key).")
@click.option("--department", help="Analyse one department.")
@click.option("--period", help="The period analysed (default: the latest).")
@click.option("--base", help="The period changes are measured from (default: the one before).")
@click.option("--drill", metavar="INDICATOR", help="Drill into this indicator's change …")
@click.option("--by", "by", metavar="SOURCE.COLUMN", help="… by the values of this column.")
@click.option(
    "--calibrate-by",
    type=click.Choice(["department", "manager", "role"]),
    default="department",
    show_default=True,
    help="The groups of the rating calibration.",
)
@click.option(
    "--nine-box",
    "nine_box",
    metavar="X,Y",
    help="A 9-box grid of two scores (total or indicators).",
)
@click.option(
    "--cuts", metavar="LOW,HIGH", help="The 9-box cut points on the score scale [default: 75,125]."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "md"]),
    default="table",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, writable=True),
    help="Write to this file instead of the terminal.",
)
@_as_of_option
def analyze(
    policy_path: str,
    data_path: str,
    subject: str | None,
    department: str | None,
    period: str | None,
    base: str | None,
    drill: str | None,
    by: str | None,
    calibrate_by: str,
    nine_box: str | None,
    cuts: str | None,
    output_format: str,
    output: str | None,
    as_of,
) -> None:
    """Compare, trend and explain changes of KPI results; calibrate the ratings."""
    from kpirules.analysis import AnalysisError
    from kpirules.analysis.calibration import DEFAULT_CUTS
    from kpirules.analysis.render import print_report, to_json, to_markdown
    from kpirules.analysis.report import Request, build_report

    if subject is not None and department is not None:
        raise click.UsageError("--subject and --department exclude each other")
    if (drill is None) != (by is None):
        raise click.UsageError("--drill INDICATOR and --by SOURCE.COLUMN go together")
    boxes = _pair(nine_box, "--nine-box")
    limits = _cuts(cuts)
    if limits is not None and boxes is None:
        raise click.UsageError("--cuts needs --nine-box")
    policy = load_policy_or_exit(policy_path)
    loaded, results = _evaluate(policy, data_path, as_of.date() if as_of else None)
    request = Request(
        subject=subject,
        department=department,
        period=period,
        base=base,
        drill=drill,
        by=by,
        calibrate_by=calibrate_by,
        nine_box=boxes,
        cuts=limits or DEFAULT_CUTS,
    )
    if subject is not None:
        roster = policy.roster
        if not (loaded.frames[roster.name][roster.key] == subject).any():
            echo(f"kpirules: no one with {roster.key} {subject!r} in the roster", err=True)
            sys.exit(EXIT_FINDINGS)
    try:
        report = build_report(policy, loaded, results, request)
    except AnalysisError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    target = Path(output) if output else None
    if output_format == "json":
        emit(to_json(report), target, announce=True)
    elif output_format == "md":
        emit(to_markdown(report), target, announce=True)
    elif target is not None:
        with target.open("w", encoding="utf-8") as handle:
            print_report(report, SafeConsole(file=handle, width=160))
    else:
        console = SafeConsole()
        if not console.is_terminal:  # piped: do not squeeze the tables into 80 columns
            console = SafeConsole(width=160)
        print_report(report, console)
    sys.exit(EXIT_CLEAN)


def _evaluate(policy, data_path: str, as_of):
    """Load the data once (the drill-down and ratio split read it again) and evaluate
    every period, so that earlier periods are there to compare with."""
    loaded = load_data_or_exit(policy, data_path, as_of)
    return loaded, evaluate_or_exit(policy, loaded, None, as_of)
