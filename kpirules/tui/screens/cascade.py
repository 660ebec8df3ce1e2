"""Cascade: objectives → goals → indicators with attainment; an indicator's spread."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, Tree

from kpirules.tui import figures
from kpirules.tui.format import share, sparkline
from kpirules.tui.screens.base import ReviewScreen
from kpirules.tui.widgets.spread_view import SpreadView

ICONS = {"objective": "◆", "goal": "●", "indicator": "▪", "unlinked": "◇"}


def attainment_text(value: float | None) -> Text:
    if value is None:
        return Text("—", style="dim")
    style = "green" if value >= 1 else ("yellow" if value >= 0.9 else "red")
    return Text(share(value), style=f"bold {style}")


def node_label(node: figures.CascadeNode) -> Text:
    label = Text(f"{ICONS[node.kind]} ", style="dim")
    label.append(node.label, style="bold" if node.kind == "objective" else "")
    if node.kind != "unlinked":
        label.append("  ")
        label.append_text(attainment_text(node.attainment))
    return label


class CascadeScreen(ReviewScreen):
    MODE = "cascade"
    NAME = "Cascade"

    def body(self) -> ComposeResult:
        with Horizontal(id="cascade"):
            yield Tree("Strategy", id="cascade-tree")
            with VerticalScroll(id="cascade-detail", classes="panel"):
                yield Static("", id="node-summary")
                yield SpreadView("", id="spread")

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.guide_depth = 3
        self.query_one("#cascade-detail").border_title = "Detail"
        super().on_mount()
        tree.focus()

    def show_period(self, period: str) -> None:
        tree = self.query_one(Tree)
        current = tree.cursor_node.data if tree.cursor_node is not None else None
        keep = (current.kind, current.name) if current is not None else None
        tree.clear()
        roots = figures.cascade(self.session.policy, self.session.results, period)
        stack = [(tree.root, node) for node in reversed(roots)]
        again = None
        while stack:
            parent, node = stack.pop()
            branch = parent.add(node_label(node), data=node, expand=True)
            if not node.children:
                branch.allow_expand = False
            if keep == (node.kind, node.name) and again is None:
                again = branch
            stack.extend((branch, child) for child in reversed(node.children))
        tree.root.expand()
        if again is not None:
            self.call_after_refresh(tree.move_cursor, again)
        else:
            self.call_after_refresh(self._first)

    def _first(self) -> None:
        tree = self.query_one(Tree)
        tree.move_cursor_to_line(0)
        self._describe(tree.cursor_node.data if tree.cursor_node is not None else None)

    @on(Tree.NodeHighlighted, "#cascade-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        self._describe(event.node.data)

    def _describe(self, node: figures.CascadeNode | None) -> None:
        summary = self.query_one("#node-summary", Static)
        spread = self.query_one(SpreadView)
        if node is None:
            summary.update("")
            spread.update("")
            return
        session, period = self.session, self.app.period
        policy = session.policy
        if node.kind == "indicator":
            indicator = policy.indicators[node.name]
            summary.update("")
            spread.display = True
            spread.show(
                indicator,
                session.cached(
                    ("spread", node.name, period),
                    lambda: figures.spread(session.results, node.name, period),
                ),
            )
            return
        spread.display = False
        text = Text.assemble((node.label, "bold"), "\n")
        text.append(f"{node.kind} {node.name}\n", style="dim")
        declared = policy.goals.get(node.name) if node.kind == "goal" else None
        declared = declared or (
            policy.objectives.get(node.name) if node.kind == "objective" else None
        )
        if declared is not None and declared.description:
            text.append(f"{declared.description}\n")
        text.append("\nattainment ")
        text.append_text(attainment_text(node.attainment))
        if node.kind == "objective":  # 154% and 115% average to 100%, not 134.5%
            text.append("  (mean of its goals, each at most 100%)", style="dim")
        text.append(f"\n{node.summary}\n")
        history = self._history(node)
        if history:
            values = [v for _, v in history]
            text.append("\nover the periods  ")
            text.append(sparkline(values), style="cyan")
            text.append("\n")
            for label, value in history:
                text.append(f"  {label}  ", style="dim")
                text.append_text(attainment_text(value))
                text.append("\n")
        summary.update(text)

    def _history(self, node: figures.CascadeNode) -> list[tuple[str, float | None]]:
        results = self.session.results
        frame = results.goals if node.kind == "goal" else results.objectives
        column = "goal" if node.kind == "goal" else "objective"
        if node.kind not in ("goal", "objective") or frame is None or frame.empty:
            return []
        rows = frame[frame[column] == node.name].drop_duplicates("period").set_index("period")
        out = []
        for period in results.periods:
            value = rows["attainment"].get(period) if period in rows.index else None
            out.append((period, None if value is None or value != value else float(value)))
        return out
