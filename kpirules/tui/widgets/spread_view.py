"""One indicator's values across people: a text histogram and the quartiles."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kpirules import model
from kpirules.tui.figures import Spread
from kpirules.tui.format import bar, measure, number

HISTOGRAM_WIDTH = 24


def spread_renderable(indicator: model.Indicator, spread: Spread) -> Group:
    unit = indicator.unit
    head = Text.assemble(
        (indicator.label or indicator.name, "bold"),
        (f"  {indicator.name} · {unit} · better {indicator.better}", "dim"),
    )
    if not spread.count:
        return Group(head, Text("No values in this period.", style="dim"))
    lines = [head, Text("")]
    q = spread.quartiles
    summary = Table.grid(padding=(0, 2))
    for _ in range(5):
        summary.add_column(justify="right")
    summary.add_row(*(Text(k, style="dim") for k in ("min", "Q1", "median", "Q3", "max")))
    summary.add_row(*(measure(q[k], unit) for k in ("min", "q1", "median", "q3", "max")))
    lines.append(summary)
    people = f"{spread.count:,} people"
    if spread.missing:
        people += f", {spread.missing:,} without a value"
    if spread.median_score is not None:
        people += f" · median score {number(spread.median_score)}"
    lines += [Text(people, style="dim"), Text("")]
    histogram = Table.grid(padding=(0, 1))
    histogram.add_column(justify="right", no_wrap=True)
    histogram.add_column(no_wrap=True)
    histogram.add_column(justify="right", no_wrap=True)
    top = max(int(spread.counts.max()), 1)
    for i, count in enumerate(spread.counts):
        low, high = spread.edges[i], spread.edges[i + 1]
        histogram.add_row(
            f"{measure(low, unit)} – {measure(high, unit)}",
            bar(count / top, HISTOGRAM_WIDTH, "cyan"),
            f"{int(count):,}",
        )
    lines.append(histogram)
    return Group(*lines)


class SpreadView(Static):
    def show(self, indicator: model.Indicator, spread: Spread) -> None:
        self.shown = spread_renderable(indicator, spread)
        self.update(self.shown)
