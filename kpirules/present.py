"""Rich rendering of a checked policy for the terminal (used by `kpirules summary`)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from kpirules import model
from kpirules.text import plain


def _pct(value) -> str:
    return f"{(value * 100).normalize():f}%"


def _num(value) -> str:
    return f"{value.normalize():f}"


def cascade_tree(policy: model.Policy) -> Tree:
    """Objective → goals → indicators, as the policy declares them."""
    tree = Tree(f"[bold]{policy.name}[/]")
    goals_of: dict[str, list[model.Goal]] = {}
    for goal in policy.goals.values():
        for parent in goal.supports or ("",):
            goals_of.setdefault(parent, []).append(goal)
    indicators_of: dict[str, list[model.Indicator]] = {}
    for indicator in policy.indicators.values():
        for parent in indicator.supports or ("",):
            indicators_of.setdefault(parent, []).append(indicator)

    def add_goal(node: Tree, goal: model.Goal, depth: int = 0) -> None:
        owner = (
            goal.owner_level
            if goal.owner_value is None
            else f"{goal.owner_level} {goal.owner_value}"
        )
        target = ""
        if goal.target:
            target = f" — {goal.target.indicator} {goal.target.op} {_num(goal.target.value)}"
            if goal.deadline:
                target += f" by {goal.deadline}"
        branch = node.add(f"[green]goal[/] {goal.label or goal.name} [dim]({owner}){target}[/]")
        for ind in indicators_of.get(goal.name, []):
            branch.add(
                f"[cyan]indicator[/] {ind.label or ind.name} [dim]{ind.unit}, better "
                f"{ind.better}, {ind.horizon or 'short'}-term[/]"
            )
        if depth < 8:
            for child in goals_of.get(goal.name, []):
                add_goal(branch, child, depth + 1)

    for objective in policy.objectives.values():
        node = tree.add(
            f"[magenta]objective[/] {objective.label or objective.name} "
            f"[dim]({objective.horizon or 'short'}-term)[/]"
        )
        for goal in goals_of.get(objective.name, []):
            add_goal(node, goal)
        for ind in indicators_of.get(objective.name, []):
            node.add(f"[cyan]indicator[/] {ind.label or ind.name}")
    loose = indicators_of.get("", [])
    if loose:
        node = tree.add("[yellow]not linked to a goal[/]")
        for ind in loose:
            node.add(f"[cyan]indicator[/] {ind.label or ind.name}")
    return tree


def scorecard_table(card: model.Scorecard, policy: model.Policy) -> Table:
    table = Table(title=f"Scorecard {card.label or card.name}", title_justify="left")
    for column in ("indicator", "weight", "unit", "better", "scoring"):
        table.add_column(column, justify="right" if column == "weight" else "left")
    for entry in card.entries:
        indicator = policy.indicators[entry.indicator]
        if isinstance(entry.scoring, model.Curve):
            scoring = "  ".join(
                f"{p.kind} {_num(p.value)}→{_num(p.score)}" for p in entry.scoring.points
            )
        elif isinstance(entry.scoring, model.Bands):
            scoring = f"{len(entry.scoring.bands)} bands ({entry.scoring.hit_policy})"
        else:
            scoring = "value is the score"
        table.add_row(
            indicator.label or indicator.name,
            _pct(entry.weight),
            indicator.unit,
            indicator.better,
            scoring,
        )
    return table


def print_summary(policy: model.Policy, console: Console, root: str = "") -> None:
    header = policy.header
    if header is not None:
        console.print(
            f"[bold]{header.name}[/] version {header.version or '-'} · "
            f"{header.cadence} · {header.effective_start or '?'} to "
            f"{header.effective_end or '?'} · {header.currency or 'no currency'}"
        )
    counts = Table(show_header=False, box=None)
    for label, value in (
        ("files", len(policy.files)),
        ("sources", len(policy.sources)),
        ("objectives", len(policy.objectives)),
        ("goals", len(policy.goals)),
        ("indicators", len(policy.indicators)),
        ("scorecards", len(policy.scorecards)),
        ("ratings", len(policy.ratings)),
        ("incentives", len(policy.incentives)),
        ("improvement rules", sum(len(i.actions) for i in policy.improvements)),
        ("tests", len(policy.tests)),
    ):
        counts.add_row(label, str(value))
    console.print(counts)
    console.print(cascade_tree(policy))
    for card in policy.scorecards.values():
        console.print(scorecard_table(card, policy))
    for rating in policy.ratings.values():
        levels = ", ".join(rating.labels)
        console.print(f"[bold]Rating {rating.label or rating.name}[/]: {levels}")


def _money(value: float, currency: str | None) -> str:
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


def print_results(results, console: Console, limit: int = 50) -> None:
    """The evaluation as a rich table of people plus a summary."""
    from kpirules.export import people_frame

    policy = results.policy
    currency = policy.header.currency if policy.header else None
    if results.blocked:
        console.print("[bold red]Data quality findings stopped the run.[/]")
    else:
        people = people_frame(results)
        table = Table(title=f"{policy.name} — {', '.join(results.periods)}", title_justify="left")
        for column, justify in (
            ("subject", "left"),
            ("name", "left"),
            ("department", "left"),
            ("period", "left"),
            ("scorecard", "left"),
            ("total", "right"),
            ("rating", "left"),
            ("payout", "right"),
            ("actions", "right"),
        ):
            table.add_column(column, justify=justify, no_wrap=column in ("subject", "period"))
        for row in people.head(limit).itertuples(index=False):
            total = "—" if row.total != row.total else f"{row.total:.1f}"
            rating = plain(row.rating) if isinstance(row.rating, str) else f"[dim]{row.status}[/]"
            table.add_row(  # values from the data are text, never markup
                plain(row.subject),
                plain(row.name if isinstance(row.name, str) else ""),
                plain(row.department if isinstance(row.department, str) else ""),
                row.period,
                row.scorecard,
                total,
                rating,
                _money(row.payout, None) if row.payout == row.payout else "—",
                str(row.actions),
            )
        console.print(table)
        if len(people) > limit:
            console.print(
                f"[dim]… {len(people) - limit} more rows; use --format csv or xlsx "
                "for all of them[/]"
            )
        distribution = results.distribution()
        if len(distribution):
            dist = Table(title="Rating distribution", title_justify="left")
            for column in ("scorecard", "period", "rating", "count", "share", "guidance"):
                dist.add_column(column, justify="right" if column in ("count", "share") else "left")
            for row in distribution.itertuples(index=False):
                flag = " [bold red]outside guidance[/]" if row.outside_guidance else ""
                dist.add_row(
                    row.scorecard,
                    row.period,
                    row.rating,
                    str(row.count),
                    f"{row.share * 100:.0f}%",
                    (row.guidance if isinstance(row.guidance, str) else "") + flag,
                )
            console.print(dist)
    summary = results.summary()
    evaluated, incomplete = summary["evaluated"], summary["incomplete"]
    lines = [
        f"scorecard-periods evaluated: {evaluated} of {evaluated + incomplete}"
        f" ({incomplete} incomplete: data missing)",
        f"payout total: {_money(summary['payout_total'], currency)}",
        "actions: "
        + (", ".join(f"{k} {v}" for k, v in summary["actions_by_kind"].items()) or "none"),
        f"data-quality findings: {summary['data_quality_findings']}",
    ]
    if summary["notes"]:
        lines.append(f"evaluation notes: {summary['notes']}")
        for row in results.notes.head(10).itertuples(index=False):
            lines.append(f"  {row.where}: {row.note} ({row.count}×)")
        if summary["notes"] > 10:
            lines.append(f"  … {summary['notes'] - 10} more notes in the JSON output")
    console.print(Text("\n".join(lines)))
    if len(results.quality):
        # One line each, `file:row` first like a diagnostic: readable at any width. Errors
        # first and every one of them (they are why a run stops), then warnings and notes
        # up to 20 lines in all; the order within a severity is the findings' own.
        console.print("[bold]Data quality[/]")
        quality = results.quality
        rank = quality["severity"].map({"error": 0, "warning": 1}).fillna(2)
        ordered = quality.assign(_rank=rank).sort_values("_rank", kind="stable")
        shown = ordered.head(max(20, int((rank == 0).sum())))
        for row in shown.itertuples(index=False):
            where = row.file if pd.isna(row.row) else f"{row.file}:{row.row}"
            colour = {"error": "red", "warning": "yellow"}.get(row.severity, "blue")
            line = Text("  ")  # values from the data are text, never markup
            line.append(row.severity, style=colour)
            line.append(f" {where} ")
            line.append(row.check, style="dim")
            line.append(f" {row.message}")
            console.print(line, highlight=False)
        if len(quality) > len(shown):
            rest = ordered.iloc[len(shown) :]["severity"].value_counts(sort=False)
            counts = ", ".join(f"{n} {severity}" for severity, n in rest.items())
            console.print(
                f"[dim]… {len(quality) - len(shown)} more findings ({counts}); "
                "--format json lists them all[/]"
            )
