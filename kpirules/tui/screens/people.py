"""People: everyone evaluated in the period, searchable, filterable and sortable."""

from __future__ import annotations

import pandas as pd

from kpirules.tui import figures
from kpirules.tui.format import money, number
from kpirules.tui.screens.table_screen import TableScreen
from kpirules.tui.table_view import Column, TableView


class PeopleScreen(TableScreen):
    MODE = "people"
    NAME = "People"
    NOUN = "people"
    FILTERS = (
        ("department", "Department"),
        ("role", "Role"),
        ("rating", "Rating"),
        ("manager_name", "Manager"),
    )

    def build_view(self, period: str) -> TableView:
        frame = figures.people(self.session.results, period, self.session.names)
        columns = [
            Column("subject", "ID"),
            Column("name", "Name", max_width=22),
            Column("department", "Department", max_width=18),
            Column("role", "Role", max_width=16),
        ]
        if frame.duplicated("subject").any():  # someone on two scorecards: say which row
            columns.append(Column("scorecard", "Scorecard", max_width=16))
        columns += [
            Column("total", "Total", numeric=True, fmt=number),
            Column("rating", "Rating", max_width=18),
            Column("payout", "Payout", numeric=True, fmt=money),
            Column("manager_name", "Manager", max_width=26),
        ]
        return TableView(frame, columns, search=["subject", "name"])

    def open_row(self, row: pd.Series) -> None:
        from kpirules.tui.screens.person import PersonScreen

        self.app.push_screen(PersonScreen(str(row["subject"]), str(row["scorecard"])))
