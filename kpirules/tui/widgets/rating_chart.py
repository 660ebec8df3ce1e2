"""The rating distribution as bars, beside the rating scale's distribution guidance."""

from __future__ import annotations

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kpirules import model
from kpirules.tui.format import BAR_FULL, share

BAR_WIDTH = 18
LIMIT_MARK = "┊"


def guidance_bar(fraction: float, limit: float | None, scale: float, breached: bool) -> Text:
    """A bar of `fraction` (of `scale`), with a mark where the guidance's limit falls."""
    cells = [" "] * BAR_WIDTH
    filled = round(fraction / scale * BAR_WIDTH) if scale else 0
    for i in range(min(filled, BAR_WIDTH)):
        cells[i] = BAR_FULL
    if fraction > 0 and filled == 0:
        cells[0] = "▏"
    text = Text("".join(cells), style="red" if breached else "green")
    if limit is not None and scale:
        at = min(BAR_WIDTH - 1, round(limit / scale * BAR_WIDTH))
        text.stylize("bold yellow", at, at + 1)
        if cells[at] == " ":
            text = text[:at] + Text(LIMIT_MARK, style="bold yellow") + text[at + 1 :]
    return text


def distribution_table(policy: model.Policy, rows: pd.DataFrame) -> Group:
    """One table per scorecard: rating, bar, count, share, guidance, and a flag."""
    parts = []
    for card, frame in rows.groupby("scorecard", sort=True):
        scorecard = policy.scorecards.get(card)
        people = int(frame["count"].sum())
        title = f"{scorecard.label if scorecard and scorecard.label else card} · {people:,} people"
        limits = {
            r.label: float(r.share)
            for r in (
                policy.ratings[scorecard.rating].distribution
                if scorecard and scorecard.rating in policy.ratings
                else ()
            )
        }
        scale = max([*frame["share"].astype(float), *limits.values(), 0.05])
        table = Table(
            title=title, title_justify="left", title_style="bold", box=None, pad_edge=False
        )
        table.add_column("rating", no_wrap=True)
        table.add_column("distribution", no_wrap=True)
        table.add_column("n", justify="right", no_wrap=True)
        table.add_column("share", justify="right", no_wrap=True)
        table.add_column("guidance", no_wrap=True)
        for row in frame.itertuples(index=False):
            breached = bool(row.outside_guidance)
            guidance = row.guidance if isinstance(row.guidance, str) else ""
            flag = Text(" exceeded" if breached else "", style="bold red")
            table.add_row(
                row.rating,
                guidance_bar(float(row.share), limits.get(row.rating), scale, breached),
                f"{row.count:,}",
                share(row.share),
                Text(guidance, style="dim") + flag,
            )
        parts.append(table)
        parts.append(Text(""))
    if not parts:
        return Group(Text("Nobody was rated in this period.", style="dim"))
    return Group(*parts[:-1])


class RatingChart(Static):
    def show(self, policy: model.Policy, rows: pd.DataFrame) -> None:
        self.update(distribution_table(policy, rows))
