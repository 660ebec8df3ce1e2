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
        # rank: which column goes first when the terminal is narrow (its value then shows
        # under the table); only the name shortens, everything else shows whole or not.
        columns = [
            Column("subject", "ID"),
            Column("name", "Name", shrink_to=12, rank=1),
            Column("department", "Department", rank=5),
            Column("role", "Role", rank=7),
        ]
        if frame.duplicated("subject").any():  # someone on two scorecards: say which row
            columns.append(Column("scorecard", "Scorecard", rank=3))
        columns += [
            Column("total", "Total", numeric=True, fmt=number, rank=2),
            Column("rating", "Rating", rank=3),
            Column("payout", "Payout", numeric=True, fmt=money, rank=4),
            Column("manager_name", "Manager", rank=6),
        ]
        return TableView(frame, columns, search=["subject", "name"])

    def open_row(self, row: pd.Series) -> None:
        from kpirules.tui.screens.person import PersonScreen

        self.app.push_screen(PersonScreen(str(row["subject"]), str(row["scorecard"])))
