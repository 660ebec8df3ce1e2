"""Rich rendering of a checked policy for the terminal (used by `kpirules summary`)."""

from __future__ import annotations

import pandas as pd
from rich import box
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


PEOPLE_COLUMNS = (
    "subject",
    "name",
    "department",
    "period",
    "scorecard",
    "total",
    "rating",
    "payout",
    "actions",
)


def _people_widths(columns: list[str], rows: list[dict], shown, width: int) -> dict[str, int]:
    """Column widths for the people table: the id, numbers and rating labels whole; the
    name, department and scorecard share what is left (shortened with an ellipsis), and a
    narrow terminal drops the department, then the scorecard, before cutting a number."""

    def widest(column: str) -> int:
        values = [cells[column] for cells in rows]
        if column == "rating":  # the labels, not a status standing in for a missing one
            values = [v for r, v in zip(shown["rating"], values, strict=True) if isinstance(r, str)]
        return max([len(column)] + [_width(value) for value in values])

    flexible = [c for c in ("name", "department", "scorecard") if c in columns]
    fixed = {c: widest(c) for c in columns if c not in flexible}
    for dropped in ([], ["department"], ["department", "scorecard"]):
        kept = [c for c in flexible if c not in dropped]
        room = width - sum(fixed.values()) - 3 * (len(fixed) + len(kept)) - 1
        if room >= 6 * len(kept):
            break
    wanted = {c: widest(c) for c in kept}
    share = {c: max(6, room * wanted[c] // max(1, sum(wanted.values()))) for c in kept}
    widths = {c: min(wanted[c], share[c]) for c in kept}
    return {c: fixed.get(c, widths.get(c, 0)) for c in columns if c in fixed or c in widths}


def _width(value) -> int:
    """Terminal cells a value takes (CJK characters take two)."""
    from rich.cells import cell_len

    return cell_len(value.plain if isinstance(value, Text) else str(value))


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
        shown = people.head(limit)
        one_period = len(results.periods) == 1  # the title says which: no column for it
        rows = []
        for row in shown.itertuples(index=False):
            total = "—" if row.total != row.total else f"{row.total:.1f}"
            rating = plain(row.rating) if isinstance(row.rating, str) else Text(str(row.status))
            if not isinstance(row.rating, str):
                rating.stylize("dim")
            cells = {  # values from the data are text, never markup
                "subject": plain(row.subject),
                "name": plain(row.name if isinstance(row.name, str) else ""),
                "department": plain(row.department if isinstance(row.department, str) else ""),
                "period": row.period,
                "scorecard": row.scorecard,
                "total": total,
                "rating": rating,
                "payout": _money(row.payout, None) if row.payout == row.payout else "—",
                "actions": str(row.actions),
            }
            if one_period:
                del cells["period"]
            rows.append(cells)
        table = Table(
            title=f"{policy.name} — {', '.join(results.periods)}",
            title_justify="left",
            box=box.SIMPLE_HEAD,  # no vertical rules: 80 columns hold the whole row
        )
        columns = [c for c in PEOPLE_COLUMNS if not (one_period and c == "period")]
        for column, width in _people_widths(columns, rows, shown, console.width).items():
            table.add_column(
                column,
                justify="right" if column in ("total", "payout", "actions") else "left",
                width=width,
                no_wrap=column != "rating",  # a status standing in for a rating may wrap
                overflow="ellipsis",
            )
        kept = [str(column.header) for column in table.columns]
        for cells in rows:
            table.add_row(*(cells[column] for column in kept))
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
