"""`kpirules report`: evaluate a policy and write the Excel workbook for HR."""

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
    evaluate_or_exit,
    load_data_or_exit,
    load_policy_or_exit,
)
from kpirules.i18n import LANGUAGES


@click.command("report")
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(dir_okay=False),
    help="The workbook to write (FILE.xlsx).",
)
@click.option("--period", help="Report one period (e.g. 2026-Q2); default: all of them.")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    help="Language of the workbook's sheet names, headers and captions (default: from the "
    "policy's locale).",
)
@_as_of_option
def report(
    policy_path: str, data_path: str, output: str, period: str | None, lang: str | None, as_of
) -> None:
    """Write an Excel workbook for HR: summary, one sheet per scorecard, actions, goals,
    data quality."""
    from datetime import date

    from kpirules.report import write_report

    target = Path(output)
    if target.suffix.lower() != ".xlsx":
        raise click.UsageError(f"-o {output}: the report is an Excel workbook; name it *.xlsx")
    if not target.parent.is_dir():
        raise click.UsageError(f"-o {output}: the folder {str(target.parent)!r} does not exist")
    policy = load_policy_or_exit(policy_path)
    if policy.roster is None:
        echo(f"kpirules: {policy_path} declares no roster: nothing to report", err=True)
        sys.exit(EXIT_FINDINGS)
    day = as_of.date() if as_of else date.today()
    # Loaded here (not inside evaluate) so the report can name people from the roster;
    # blocked data still gets a workbook, which holds the findings.
    loaded = load_data_or_exit(policy, data_path, day, blocked_ok=True)
    results = evaluate_or_exit(policy, loaded, period, day)
    try:
        roster = loaded.frames.get(policy.roster.name)
        write_report(results, target, as_of=day, roster=roster, lang=lang)
    except OSError as exc:
        echo(f"kpirules: cannot write {output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    summary = results.summary()
    echo(
        f"wrote {output}: {summary['subjects']} people, {len(results.periods)} period"
        f"{'s' * (len(results.periods) != 1)}, {summary['actions']} actions, "
        f"{summary['data_quality_findings']} data-quality findings",
        err=True,
    )
    if results.blocked:
        echo(
            "kpirules: data-quality errors stopped the evaluation; the workbook holds the "
            "findings only",
            err=True,
        )
    sys.exit(EXIT_FINDINGS if results.blocked else EXIT_CLEAN)
