"""Rich rendering of a checked policy for the terminal (used by `kpirules summary`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from kpirules import model


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
