"""`kpirules feedback`: one-on-one feedback sheets, per person or per manager's team."""

from __future__ import annotations

import sys

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


@click.command("feedback")
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option("--subject", metavar="ID", help="One sheet: the roster key of this person.")
@click.option(
    "--manager", metavar="ID", help="One bundle: the sheets of this manager's direct reports."
)
@click.option(
    "--period",
    metavar="P",
    help="The period (default: each person's latest evaluated one; for --manager, the "
    "team's latest).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="Markdown, or self-contained printable HTML with small charts.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    help="Language of the labels (default: from the policy's locale).",
)
@click.option(
    "-o",
    "--output",
    "output_dir",
    metavar="DIR",
    type=OutputPath(file_okay=False),
    help="Write one file per sheet (or the bundle) and an index into this folder.",
)
@_as_of_option
def feedback(
    policy_path: str,
    data_path: str,
    subject: str | None,
    manager: str | None,
    period: str | None,
    output_format: str,
    lang: str | None,
    output_dir: str | None,
    as_of,
) -> None:
    """Feedback sheets to prepare one-on-ones: strengths, gaps, trend, peers, actions,
    incentives, the feedback cadence and a suggested agenda."""
    from kpirules.feedback import (
        FeedbackError,
        Labels,
        OutputError,
        build_sheets,
        everyone,
        language_for,
        name_of,
        one,
        render,
        roster_names,
        team,
        write_sheets,
    )

    if subject is not None and manager is not None:
        raise click.UsageError("choose --subject or --manager, not both")
    if subject is None and manager is None and output_dir is None:
        raise click.UsageError(
            "a sheet for everyone makes several files: give -o DIR, or choose --subject "
            "or --manager"
        )
    policy = load_policy_or_exit(policy_path)
    day = as_of.date() if as_of else None
    # Load once: the evaluation reads these frames, and the roster names managers and
    # owners who are on no scorecard themselves.
    loaded = load_data_or_exit(policy, data_path, day)
    results = evaluate_or_exit(policy, loaded, period, day, history=True)
    names = roster_names(policy, loaded.frames)
    labels = Labels(lang or language_for(policy.header.locale if policy.header else None))
    bundle = None
    try:
        if subject is not None:
            wanted = one(results, subject, period)
        elif manager is not None:
            period, wanted = team(results, manager, period)
            bundle = (manager, _shown(labels, name_of(results, manager, names), manager))
        else:
            wanted = everyone(results, period)
        if not wanted:
            raise FeedbackError(f"no one was evaluated in {period or 'any period'}")
        sheets = build_sheets(results, wanted, names=names)
        stamp = day.isoformat() if day else None
        if output_dir is None:
            shown = bundle[1] if bundle else None
            echo(render(sheets, output_format, labels, manager=shown, as_of=stamp), nl=False)
        else:
            files = write_sheets(
                output_dir, sheets, output_format, labels, manager=bundle, as_of=stamp
            )
            what = f"{len(sheets)} sheet{'s' * (len(sheets) != 1)}"
            if bundle:  # one file per person too, so each can be linked and printed alone
                what = f"a team bundle, {what}"
            echo(f"wrote {what} and an index: {len(files)} files in {output_dir}", err=True)
    except (FeedbackError, OutputError) as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


def _shown(labels, name: str | None, key: str) -> str:
    return labels.format("person", name=name, id=key) if name else key
