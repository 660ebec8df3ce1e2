"""Actions: the improvement and incentive queue of the period, by owner, manager, kind."""

from __future__ import annotations

import pandas as pd

from kpirules.tui import figures
from kpirules.tui.screens.table_screen import TableScreen
from kpirules.tui.table_view import Column, TableView


class ActionsScreen(TableScreen):
    MODE = "actions"
    NAME = "Actions"
    NOUN = "actions"
    SEARCH_HINT = "Search by name, id or title"
    FILTERS = (
        ("owner", "Owner"),
        ("manager_name", "Manager"),
        ("kind", "Kind"),
        ("department", "Department"),
    )

    def build_view(self, period: str) -> TableView:
        frame = figures.action_queue(self.session.results, period, self.session.names)
        # rank: which column goes first when the terminal is narrow (its value then shows
        # under the table); the title and the reason may shorten, the rest show whole.
        columns = [
            Column("kind", "Kind", rank=1),
            Column("title", "Action", shrink_to=30),
            Column("subject", "ID", rank=3),
            Column("name", "Name", rank=2),
            Column("owner", "Owner", rank=5),
            Column("due", "Due", rank=4),
            Column("manager_name", "Manager", rank=7),
            Column("reason", "Why", shrink_to=24, rank=6),
        ]
        return TableView(frame, columns, search=["subject", "name", "title"])

    def open_row(self, row: pd.Series) -> None:
        from kpirules.tui.screens.person import PersonScreen

        self.app.push_screen(PersonScreen(str(row["subject"]), str(row["scorecard"])))
