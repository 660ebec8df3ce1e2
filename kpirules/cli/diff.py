"""`kpirules diff OLD NEW`: evaluate two versions of a policy on the same data and show
who changes rating or payout, the distribution and payout shifts, and the actions that
appear or disappear. Either side may be `REV:PATH`, the policy at a git revision (see
kpirules.revisions). Exit 0 when the outcomes are identical, 1 when they differ (like
diff(1)) or a side cannot be evaluated, 2 on usage errors."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kpirules.api import check_unit
from kpirules.cli.common import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_USAGE,
    OutputPath,
    _as_of_option,
    _data_option,
    echo,
    emit,
)
from kpirules.diagnostics import render_text
from kpirules.revisions import Checkout, RevisionError, SpecError, checkout, parse_spec
from kpirules.text import SafeConsole, to_json


@dataclass(frozen=True)
class Section:
    """One block of the report: a title, a table and how many rows were left out."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    more: int = 0
    right: tuple[int, ...] = ()  # columns aligned right (numbers)


@dataclass(frozen=True)
class Side:
    """One version as the user named it: a path, or `REV:PATH` copied out of git."""

    name: str  # old | new
    given: str
    copy: Checkout | None = None

    @property
    def path(self) -> str:
        return str(self.copy.policy) if self.copy else self.given

    @property
    def root(self) -> Path | None:
        return self.copy.root if self.copy else None

    @property
    def label(self) -> str:
        return self.copy.label if self.copy else self.given

    @property
    def revision(self) -> dict[str, Any] | None:
        return self.copy.revision() if self.copy else None

    def shown(self, text: str) -> str:
        """Text about this side, with no temporary path in it."""
        return self.copy.unmask(text) if self.copy else text


@click.command("diff")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@_data_option
@click.option("--period", help="Compare one period (e.g. 2026-Q2); default: all of them.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "md"]),
    default="table",
    show_default=True,
    help="Terminal tables, JSON (schemas/diff.schema.json) or Markdown for a pull request.",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Rows per list in table and Markdown output (JSON lists everything).",
)
@_as_of_option
def diff(
    old_path: str,
    new_path: str,
    data_path: str,
    period: str | None,
    output_format: str,
    output: str | None,
    limit: int,
    as_of,
) -> None:
    """Compare the outcomes of two versions of a policy on the same data.

    OLD and NEW are policy folders or files, or REV:PATH for one at a git revision
    (e.g. main:policies/sales)."""
    with ExitStack() as stack:  # removes the revisions' temporary copies, even on exit
        sides = [_open(stack, old_path, "old"), _open(stack, new_path, "new")]
        _report(sides, data_path, period, output_format, output, limit, as_of)


def _report(
    sides: list[Side],
    data_path: str,
    period: str | None,
    output_format: str,
    output: str | None,
    limit: int,
    as_of,
) -> None:
    from kpirules.whatif import WhatIfError, compare, evaluate_both

    old_side, new_side = sides
    old, new = _load(old_side), _load(new_side)
    day = as_of.date() if as_of else None
    try:
        old_results, new_results = evaluate_both(old, new, data_path, period, as_of=day)
    except WhatIfError as exc:
        side = old_side if exc.side == "old" else new_side
        for problem in exc.problems:
            echo(side.shown(f"kpirules: {side.name} policy {side.label}: {problem}"), err=True)
        sys.exit(EXIT_FINDINGS)
    result = compare(old_results, new_results)
    labels = (old_side.label, new_side.label)
    target = Path(output) if output else None
    if output_format == "json":
        payload = {
            "old_path": old_side.given,
            "new_path": new_side.given,
            "old_revision": old_side.revision,
            "new_revision": new_side.revision,
            "data": data_path,
        }
        payload |= result.to_dict()
        emit(to_json(payload, indent=2, allow_nan=False) + "\n", target)
    elif output_format == "md":
        emit(render_markdown(result, data_path, limit, labels), target)
    elif target is not None:
        with target.open("w", encoding="utf-8") as handle:
            print_table(result, data_path, limit, labels, SafeConsole(file=handle, width=160))
    else:
        print_table(result, data_path, limit, labels, SafeConsole())
    sys.exit(EXIT_CLEAN if result.identical else EXIT_FINDINGS)


def _open(stack: ExitStack, given: str, name: str) -> Side:
    """The side as given; a REV:PATH is copied out of git for as long as `stack` lives."""
    spec = parse_spec(given)
    if spec is None:
        return Side(name, given)
    try:
        return Side(name, given, stack.enter_context(checkout(spec)))
    except SpecError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RevisionError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)


def _load(side: Side):
    unit, policy, diagnostics = check_unit(side.path, side.root)
    if policy is None:
        echo(f"kpirules: the {side.name} policy {side.label} does not check:", err=True)
        for diagnostic in diagnostics:
            echo(side.shown(render_text(diagnostic, unit.sources)), err=True)
        sys.exit(EXIT_FINDINGS)
    if policy.header is None:
        echo(
            f"kpirules: the {side.name} policy {side.label} is a library: nothing to evaluate",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    return policy


# ------------------------------------------------------------------ content


def _money(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.2f}"


def _signed(value, places: int = 2) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{value:+,.{places}f}"


def _score(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.1f}"


def _arrow(old: str, new: str) -> str:
    return old if old == new else f"{old} → {new}"


def _versions(result) -> str:
    old, new = result.old, result.new
    name = new["name"] if old["name"] == new["name"] else f"{old['name']} → {new['name']}"
    if old["version"] or new["version"]:
        name += f" ({_arrow(old['version'] or '?', new['version'] or '?')})"
    return name


def headline(result, data_path: str) -> str:
    s = result.summary
    periods = result.new["periods"] or result.old["periods"]
    span = periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
    where = f"on {data_path}, {span}" if periods else f"on {data_path}"
    if result.identical:
        return (
            f"No change in outcomes {where}: the same totals, ratings, payouts and actions "
            f"for all {s.compared} evaluations of {s.people} people."
        )
    currency = f" {result.currency}" if result.currency else ""
    share = f", {s.payout_total_delta / s.payout_total_old:+.1%}" if s.payout_total_old else ""
    parts = [
        f"{s.rating_changed} rating changes ({s.upgraded} up, {s.downgraded} down)",
        f"{s.payout_changed} payouts change",
        f"payout total {_money(s.payout_total_old)} → {_money(s.payout_total_new)}{currency} "
        f"({_signed(s.payout_total_delta)}{share})",
        f"actions +{s.actions_added} / -{s.actions_removed}",
    ]
    if s.added or s.removed:
        parts.append(f"scorecard rows +{s.added} / -{s.removed}")
    return f"Outcomes differ {where}: " + ", ".join(parts) + "."


def sections(result, limit: int) -> list[Section]:
    s = result.summary
    out = [
        Section(
            "Summary",
            ("measure", "old", "new", "change"),
            (
                (
                    "evaluations (person × period × scorecard)",
                    str(s.compared + s.removed),
                    str(s.compared + s.added),
                    f"+{s.added} / -{s.removed}",
                ),
                (
                    "rating changes",
                    "",
                    "",
                    f"{s.rating_changed} ({s.upgraded} up, {s.downgraded} down)",
                ),
                ("totals changed", "", "", str(s.total_changed)),
                ("payouts changed", "", "", str(s.payout_changed)),
                (
                    "payout total" + (f" ({result.currency})" if result.currency else ""),
                    _money(s.payout_total_old),
                    _money(s.payout_total_new),
                    _signed(s.payout_total_delta),
                ),
                (
                    "actions",
                    str(s.actions_old),
                    str(s.actions_new),
                    f"+{s.actions_added} / -{s.actions_removed}",
                ),
            ),
            right=(1, 2, 3),
        )
    ]
    if result.identical:
        return out
    out.append(_distribution_section(result))
    payouts = result.payouts
    out.append(
        Section(
            "Payouts by incentive",
            ("incentive", "old", "new", "change"),
            tuple(
                (label, _money(o), _money(n), _signed(d))
                for label, o, n, d in zip(
                    payouts["label"], payouts["old"], payouts["new"], payouts["delta"]
                )
            ),
            right=(1, 2, 3),
        )
    )
    changes = result.changes
    both = changes[changes["presence"] == "both"]
    movers = both[both["payout_delta"].abs() > 0]
    movers = movers.assign(size=movers["payout_delta"].abs()).sort_values(
        ["size", "subject", "period", "scorecard"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    out.append(_people_section(f"Largest payout changes (by |change|, top {limit})", movers, limit))
    rated = both[both["rating_change"] != "same"]
    direction = rated["rating_change"].map({"down": 0, "up": 1}).fillna(2)
    rated = rated.assign(order=direction, size=rated["total_delta"].abs()).sort_values(
        ["order", "size", "subject", "period"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    out.append(_people_section("Rating changes (downgrades first)", rated, limit))
    moved = changes[changes["presence"] != "both"]
    if len(moved):
        out.append(_people_section("On a scorecard in one version only", moved, limit))
    actions = result.actions
    rows = tuple(
        ("+" if change == "added" else "-", f"{subject} {name or ''}".strip(), period, kind, title)
        for change, subject, name, period, kind, title in zip(
            actions["change"],
            actions["subject"],
            actions["name"],
            actions["period"],
            actions["kind"],
            actions["title"],
        )
    )
    out.append(
        Section(
            "Actions added (+) and removed (-)",
            ("", "person", "period", "kind", "title"),
            rows[:limit],
            more=max(0, len(rows) - limit),
        )
    )
    return out


def _distribution_section(result) -> Section:
    """Pooled over the compared periods, only for scorecards whose distribution moved."""
    frame = result.distribution
    pooled = frame.groupby(["scorecard", "rating"], sort=False)[["old_count", "new_count"]].sum()
    pooled = pooled.reset_index()
    sizes = pooled.groupby("scorecard")[["old_count", "new_count"]].transform("sum")
    pooled["old_share"] = pooled["old_count"] / sizes["old_count"].where(sizes["old_count"] > 0)
    pooled["new_share"] = pooled["new_count"] / sizes["new_count"].where(sizes["new_count"] > 0)
    moved_cards = set(frame.loc[frame["count_delta"] != 0, "scorecard"])
    pooled = pooled[pooled["scorecard"].isin(moved_cards)]
    rows = tuple(
        (
            card,
            rating,
            f"{o} ({_share(os_)})",
            f"{n} ({_share(ns)})",
            f"{n - o:+d} ({_points(ns, os_)})",
        )
        for card, rating, o, n, os_, ns in zip(
            pooled["scorecard"],
            pooled["rating"],
            pooled["old_count"],
            pooled["new_count"],
            pooled["old_share"],
            pooled["new_share"],
        )
    )
    return Section(
        "Rating distribution (all compared periods; scorecards that moved)",
        ("scorecard", "rating", "old", "new", "shift"),
        rows,
        right=(2, 3, 4),
    )


def _share(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0%}"


def _points(new, old) -> str:
    if pd.isna(new) or pd.isna(old):
        return "–"
    return f"{(new - old) * 100:+.1f} pp"


def _people_section(title: str, frame: pd.DataFrame, limit: int) -> Section:
    shown = frame.head(limit)
    rows = tuple(
        (
            f"{subject} {name or ''}".strip(),
            period,
            card,
            _arrow(_score(ot), _score(nt)),
            _arrow(orating or "–", nrating or "–"),
            _arrow(_money(op) or "–", _money(np_) or "–") + (f" ({_signed(pd_)})" if pd_ else ""),
        )
        for subject, name, period, card, ot, nt, orating, nrating, op, np_, pd_ in zip(
            shown["subject"],
            shown["name"],
            shown["period"],
            shown["scorecard"],
            shown["old_total"],
            shown["new_total"],
            shown["old_rating"],
            shown["new_rating"],
            shown["old_payout"],
            shown["new_payout"],
            shown["payout_delta"],
        )
    )
    return Section(
        title,
        ("person", "period", "scorecard", "total", "rating", "payout"),
        rows,
        more=max(0, len(frame) - limit),
        right=(3, 5),
    )


# ------------------------------------------------------------------ rendering


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """A path as inline code; plain (escaped) when it holds a backtick itself."""
    return _cell(text) if "`" in text else f"`{_cell(text)}`"


def render_markdown(result, data_path: str, limit: int, labels: tuple[str, str]) -> str:
    lines = [
        f"### Policy diff: {_cell(_versions(result))}",
        "",
        f"old: {_code(labels[0])} → new: {_code(labels[1])}",
        "",
        headline(result, data_path),
        "",
    ]
    for section in sections(result, limit):
        if not section.rows:
            continue
        lines += [f"#### {section.title}", ""]
        lines.append("| " + " | ".join(_cell(h) for h in section.headers) + " |")
        lines.append(
            "|"
            + "|".join("---:" if i in section.right else "---" for i in range(len(section.headers)))
            + "|"
        )
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
        if section.more:
            lines.append(f"\n…and {section.more} more.")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def print_table(
    result, data_path: str, limit: int, labels: tuple[str, str], console: Console
) -> None:
    console.print(f"[bold]Policy diff: {escape(_versions(result))}[/bold]", highlight=False)
    console.print(escape(f"old: {labels[0]} → new: {labels[1]}"), highlight=False)
    console.print(escape(headline(result, data_path)), highlight=False)
    for section in sections(result, limit):
        if not section.rows:
            continue
        table = Table(title=escape(section.title), title_justify="left", show_edge=False)
        for number, header in enumerate(section.headers):
            table.add_column(escape(header), justify="right" if number in section.right else "left")
        for row in section.rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print()
        console.print(table)
        if section.more:
            console.print(f"…and {section.more} more.")
