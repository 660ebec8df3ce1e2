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
        columns = [
            Column("kind", "Kind", max_width=12),
            Column("title", "Action", max_width=34),
            Column("subject", "ID"),
            Column("name", "Name", max_width=20),
            Column("owner", "Owner", max_width=14),
            Column("due", "Due"),
            Column("manager_name", "Manager", max_width=26),
            Column("reason", "Why", max_width=40),
        ]
        return TableView(frame, columns, search=["subject", "name", "title"])

    def open_row(self, row: pd.Series) -> None:
        from kpirules.tui.screens.person import PersonScreen

        self.app.push_screen(PersonScreen(str(row["subject"]), str(row["scorecard"])))
